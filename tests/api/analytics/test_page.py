"""/analytics in Debian's Chromium on a real uvicorn: login, KPIs, a chart and a table drill down to the
tickets behind them, hotspot drill-down, Excel export of the drill-down."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from api.core import db as core_db
from api.core.settings import get_settings
from tests.api.analytics.planted import planted_database, served

pytestmark = pytest.mark.browser


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, list[str]]]]:
    yield planted_database(tmp_path, monkeypatch, name="analytics.sqlite3", password="fenxi-2026",
                           staff=[{"username": "chenjing", "full_name": "陈静", "role": "supervisor"}])
    core_db.reset_engine()
    get_settings.cache_clear()


def test_dashboard_drills_down_and_exports(planted, tmp_path: Path) -> None:
    from tests.support.browser import chromium

    url, found = planted
    with served(url, tmp_path) as base, chromium() as browser:
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/analytics?start=2026-11-16&end=2026-11-22")
        page.fill("#username", "chenjing")
        page.fill("#password", "fenxi-2026")
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#app:not([hidden])")
        page.wait_for_selector("[data-kpi=total]")
        # 12 ordinary (two a day to the 21st) + 8 of the burst + 1 of the repeated citizen + 1 sensitive
        assert page.text_content("[data-kpi=total] b") == "22"
        page.wait_for_selector("#hotspots tr.click")
        assert "冈南社区" in page.text_content("#hotspots tr.click >> nth=0") and "突发" in page.text_content("#hotspots")
        # A hotspot drills down to exactly its tickets.
        page.click("#hotspots tr.click >> nth=0")
        page.wait_for_selector("#drill-card:not([hidden])")
        assert "（8件）" in page.text_content("#drill-title")
        assert {r.split("\t")[0] for r in page.eval_on_selector_all("#drill tr", "rows => rows.map(r => r.innerText)")} \
            == set(found["burst"])
        with page.expect_download() as download:
            page.click("#drill-card [data-export=tickets]")
        rows = list(load_workbook(BytesIO(Path(download.value.path()).read_bytes())).active.iter_rows(values_only=True))
        assert rows[0][0] == "工单号" and {r[0] for r in rows[1:]} == set(found["burst"])
        # A bar of the town chart drills down to that town's tickets.
        # The page's CSP forbids eval, so no wait_for_function: evaluate() runs outside it, locators wait.
        for _ in range(100):
            if page.evaluate("""() => { const c = echarts.getInstanceByDom(document.getElementById('chart-town'));
                                         return !!c && c.getOption().series[0].data.some(d => d.name === '上冈镇'); }"""):
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(1500)  # the bars' entry animation
        point = page.evaluate("""() => {
            const c = echarts.getInstanceByDom(document.getElementById('chart-town'));
            const data = c.getOption().series[0].data; const i = data.findIndex(d => d.name === '上冈镇');
            return c.convertToPixel({seriesIndex: 0}, [data[i].value / 2, i]); }""")
        page.locator("#chart-town").scroll_into_view_if_needed()
        box = page.locator("#chart-town").bounding_box()
        page.mouse.click(box["x"] + point[0], box["y"] + point[1])
        expect(page.locator("#drill-title")).to_contain_text("上冈镇")
        assert "（8件）" in page.text_content("#drill-title")
        # The statistics table exports too.
        page.select_option("#group", "town")
        expect(page.locator("#group-label")).to_have_text("镇（街道）")
        with page.expect_download() as download:
            page.click("[data-export=summary]")
        sheet = list(load_workbook(BytesIO(Path(download.value.path()).read_bytes())).active.iter_rows(values_only=True))
        assert sheet[0][0] == "镇（街道）" and any(r[0] == "上冈镇" and r[1] == 8 for r in sheet)
        assert not errors
