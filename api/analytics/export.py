"""Every table of the dashboard as an Excel sheet (openpyxl, as the callbacks page exports)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from api.analytics.stats import DIMENSION_LABELS, FORMULAS

RATE_COLUMNS = [
    ("total", "受理量"), ("response_rate", "响应率"), ("on_time_rate", "按时办结率"), ("resolution_rate", "解决率"),
    ("satisfaction_rate", "满意率"), ("return_rate", "退单率"), ("repeat_rate", "重复诉求率"), ("overdue", "超期件"),
    ("late_replied", "超期办结件"), ("returned", "退单件"), ("repeats", "重复诉求"), ("enterprise", "企业诉求"),
    ("sign_due", "应签收"), ("sign_on_time", "按时签收"), ("complete_due", "应办结"), ("complete_on_time", "按时办结"),
    ("rated", "有效回访"), ("rated_good", "满意+基本满意"), ("dissatisfied", "不满意"),
]


def _pct(value: Any) -> Any:
    return "—" if value is None else f"{value * 100:.1f}%" if isinstance(value, float) else value


def workbook(sheets: list[tuple[str, list[str], list[list[Any]]]], notes: list[str] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for i, header in enumerate(headers):
            sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width = max(10, min(60, len(header) * 2 + 4))
        if notes:
            sheet.append([])
            for note in notes:
                sheet.append([note])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def summary_sheet(data: dict[str, Any]) -> tuple[str, list[str], list[list[Any]]]:
    dim = data.get("group_by")
    headers = [DIMENSION_LABELS.get(dim or "", "范围"), *[label for _, label in RATE_COLUMNS]]
    rows = [[g["label"], *[_pct(g[k]) for k, _ in RATE_COLUMNS]] for g in data["groups"]]
    rows.append(["合计", *[_pct(data[k]) for k, _ in RATE_COLUMNS]])
    for name, label in (("previous", "上期（环比）"), ("same_period_last_year", "去年同期（同比）")):
        if name in data:
            other = data[name]
            rows.append([f"{label} {other['start']}至{other['end']}", *[_pct(other[k]) for k, _ in RATE_COLUMNS]])
    return f"统计_{DIMENSION_LABELS.get(dim or '', '合计')}", headers, rows


def ranking_sheet(rows: list[dict[str, Any]], by: str) -> tuple[str, list[str], list[list[Any]]]:
    headers = ["名次", DIMENSION_LABELS[by], "三率综合得分", "响应率", "按时办结率", "满意率", "受理量", "超期件", "退单率"]
    return ("三率排名", headers, [[r["rank"], r["label"], _pct(r["score"]), _pct(r["response_rate"]), _pct(r["on_time_rate"]),
                                 _pct(r["satisfaction_rate"]), r["total"], r["overdue"], _pct(r["return_rate"])] for r in rows])


def hotspot_sheet(spots: list[dict[str, Any]]) -> tuple[str, list[str], list[list[Any]]]:
    headers = ["序号", "热点", "件数", "走势", "突发", "基线期件数", "去年同期", "主要地点", "主办单位", "工单号"]
    return ("热点", headers, [[i, s["title"], s["count"], s["trend"], "是" if s["burst"] else "否", s["baseline_count"],
                              s["last_year_count"] if s["last_year_count"] is not None else "—",
                              "、".join(f"{p['place']}（{p['count']}）" for p in s["places"]), s["department"] or "",
                              "、".join(s["tickets"])] for i, s in enumerate(spots, 1)])


def tickets_sheet(items: list[dict[str, Any]]) -> tuple[str, list[str], list[list[Any]]]:
    headers = ["工单号", "受理时间", "渠道", "诉求类型", "分类", "镇（街道）", "主办单位", "状态", "超期", "企业诉求", "诉求内容（已脱敏）"]
    return ("工单明细", headers, [[t["ticket_no"], t["created_at"], t["channel"], t["demand_type"], t["category"], t["town"],
                                t["department"], t["status"], "是" if t["overdue"] else "", "是" if t["enterprise"] else "",
                                t["description"]] for t in items])


def warnings_sheet(rows: list[dict[str, Any]]) -> tuple[str, list[str], list[list[Any]]]:
    headers = ["编号", "预警", "规则类型", "推送单位", "件数", "地点", "推送时间", "签收", "签收人", "签收意见", "工单号"]
    return ("预警", headers, [[w["id"], w["title"], w["kind_label"], w["department"] or "", w["count"], w["place"] or "",
                              w["created_at"], "已签收" if w["acknowledged_at"] else "未签收", w["acknowledged_by"] or "",
                              w["ack_note"] or "", "、".join(w["ticket_nos"])] for w in rows])


FORMULA_NOTES = list(FORMULAS.values())
