"""Sign-in on every staff page, through their one shared script (/static/meta/staff.js), in Chromium.

Each page: a wrong password shows the server's reason; an access token that has expired while the
page was open is renewed with the refresh token instead of throwing the person out (the 智能回访 and
数据分析 pages used to log out after 15 minutes); logging out revokes the session on the server.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.core import db as core_db
from tests.callbacks.conftest import api_server, database  # noqa: F401 — `database` is the fixture

pytestmark = pytest.mark.browser
PASSWORD = "staff-session-2026"
PAGES = {  # page → (who signs in, something only the signed-in page shows)
    "console": ("agent_zx", "#live-status"),
    "office": ("dispatcher_pd", "#views"),
    "callbacks": ("agent_zx", "#me"),
    "analytics": ("supervisor_db", "#me"),
}


def test_every_staff_page_signs_in_refreshes_and_revokes(database: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from api.auth.models import User
    from api.auth.security import hash_password
    from tests.support.browser import chromium

    with core_db.session_factory()() as s:
        for username, role, name in (("agent_zx", "agent", "周晓"), ("dispatcher_pd", "dispatcher", "赵敏"),
                                     ("supervisor_db", "supervisor", "孙红")):
            s.add(User(username=username, full_name=name, role=role, password_hash=hash_password(PASSWORD)))
        s.commit()
    with api_server(tmp_path) as url, chromium() as browser:
        for page_name, (username, signed_in_marker) in PAGES.items():
            page = browser.new_context(locale="zh-CN").new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, bucket=errors: bucket.append(error))
            page.goto(f"{url}/{page_name}")

            page.fill("#username", username)
            page.fill("#password", "not-the-password")
            page.click("#login-form button[type=submit]")
            expect(page.locator("#login-error")).to_have_text("用户名或密码不正确。", timeout=30_000)  # hashing is slow on purpose
            assert page.locator("#app").is_hidden()

            page.fill("#password", PASSWORD)
            page.click("#login-form button[type=submit]")
            expect(page.locator("#app")).to_be_visible(timeout=30_000)
            expect(page.locator("#me")).to_contain_text({"agent_zx": "周晓", "dispatcher_pd": "赵敏",
                                                         "supervisor_db": "孙红"}[username])
            key = f"minsheng.{page_name}."
            first_refresh = page.evaluate(f"sessionStorage.getItem('{key}refresh')")
            assert first_refresh, page_name

            # The access token went stale while the page stayed open: a reload renews it, once.
            page.evaluate(f"sessionStorage.setItem('{key}token', 'expired-access-token')")
            page.reload()
            expect(page.locator("#app")).to_be_visible(timeout=30_000)
            expect(page.locator(signed_in_marker)).to_be_visible()
            renewed = page.evaluate(f"sessionStorage.getItem('{key}token')")
            assert renewed and renewed != "expired-access-token", page_name
            second_refresh = page.evaluate(f"sessionStorage.getItem('{key}refresh')")
            assert second_refresh != first_refresh, f"{page_name}: the refresh token rotates"

            with page.expect_response("**/api/v1/auth/logout") as logged_out:
                page.click("#logout")
            assert logged_out.value.ok, page_name
            expect(page.locator("#login")).to_be_visible()
            expect(page.locator("#login-error")).to_have_text("")
            assert page.evaluate(f"sessionStorage.getItem('{key}token')") is None
            # Logout revoked the session on the server: neither token works any more.
            me = httpx.get(f"{url}/api/v1/auth/me", headers={"Authorization": f"Bearer {renewed}"}, timeout=30)
            assert me.status_code == 401, (page_name, me.text)
            again = httpx.post(f"{url}/api/v1/auth/refresh", json={"refresh_token": second_refresh}, timeout=30)
            assert again.status_code == 401, (page_name, again.text)

            # A session that ended elsewhere (both tokens dead): back to the form, saying why.
            page.evaluate(f"sessionStorage.setItem('{key}token', 'dead'); sessionStorage.setItem('{key}refresh', 'dead')")
            page.reload()
            expect(page.locator("#login-error")).to_have_text("登录已过期，请重新登录。", timeout=30_000)
            assert page.locator("#app").is_hidden()
            assert [str(e) for e in errors] == [], page_name
            page.context.close()
