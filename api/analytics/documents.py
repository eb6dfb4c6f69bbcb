"""The county's documents as .docx: 工作提醒函, 月度诉求分析报告 (with charts), 热点分析专报.

Charts are drawn with matplotlib in WenQuanYi Micro Hei (Debian fonts-wqy-microhei) so the Chinese
labels render; the text follows the register of the county's own reports.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from api.analytics.models import WorkReminder
from api.analytics.periods import Period, local_day
from api.core.db import utcnow

HOTLINE = "建湖县12345政务服务便民热线"
CN_NUM = "一二三四五六七八九十"
FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _change(value: float | None) -> str:
    if value is None:
        return "无可比数据"
    return f"{'上升' if value >= 0 else '下降'}{abs(value) * 100:.1f}%"


def _listing(groups: list[dict[str, Any]]) -> str:
    return "、".join(f"{g['label']}（{g['total']}件）" for g in groups)


def _cn_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _cn_span(start, end) -> str:
    """2026年11月1日至30日, as the county's reports write a period (not 2026-11-01至2026-11-30)."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{_cn_date(start)}至{end.day}日"
    if start.year == end.year:
        return f"{_cn_date(start)}至{end.month}月{end.day}日"
    return f"{_cn_date(start)}至{_cn_date(end)}"


def _document(title: str, number: str | None = None) -> Document:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(14)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋")
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(title)
    run.bold = True
    run.font.size = Pt(20)
    if number:
        doc.add_paragraph(number).alignment = WD_ALIGN_PARAGRAPH.CENTER
    return doc


def _heading(doc: Document, text: str) -> None:
    para = doc.add_paragraph()
    run = para.add_run(text)
    run.bold = True
    run.font.size = Pt(16)


def _para(doc: Document, text: str) -> None:
    doc.add_paragraph(f"    {text}")


def _table(doc: Document, headers: list[str], rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        cell.text = header
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = str(value)
    for row in table.rows:  # 五号 in tables, as the county's reports: 14 pt broke "100.0%" over two lines
        for cell in row.cells:
            for run in cell.paragraphs[0].runs:
                run.font.size = Pt(10.5)


def _sign(doc: Document, when: datetime | None = None) -> bytes:
    doc.add_paragraph("")
    doc.add_paragraph(f"{HOTLINE}\n{_cn_date(local_day(when or utcnow()))}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _chart(kind: str, labels: list[str], values: list[float], title: str) -> io.BytesIO:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font = font_manager.FontProperties(fname=FONT_FILE)
    fig, ax = plt.subplots(figsize=(7.5, 3.2), dpi=110)
    if kind == "line":
        ax.plot(range(len(values)), values, color="#1f5fa8", marker="o", markersize=3)
        step = max(1, len(labels) // 10)
        ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], fontproperties=font, fontsize=8)
    else:
        ax.barh(range(len(values)), values, color="#1f5fa8")
        ax.set_yticks(range(len(labels)), labels, fontproperties=font, fontsize=9)
        ax.invert_yaxis()
    ax.set_title(title, fontproperties=font, fontsize=12)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    out.seek(0)
    return out


# ---- 工作提醒函 --------------------------------------------------------------------------------------

def reminder_letter(*, reminder: WorkReminder, department_name: str) -> bytes:
    doc = _document(f"{HOTLINE}\n工 作 提 醒 函", reminder.letter_no)
    doc.add_paragraph(f"{department_name}：")
    years = sorted({y for t in reminder.topics for y in t["years"]})
    _para(doc, f"根据“下对研判快手棋”工作要求，我们梳理了{years[0] if years else ''}年以来往年同期"
               f"（{reminder.month}月）热线工单。以下诉求在往年{reminder.month}月明显高发，属贵单位职责范围，"
               "现予提醒。请提前布局、超前防范，落实具体措施，做到“未诉先办”，从源头压降诉求数量。")
    rows = []
    for i, topic in enumerate(reminder.topics, 1):
        detail = "；".join(f"{y}年{v['count']}件（前两月日均的{v['ratio']}倍）" for y, v in topic["years"].items())
        rows.append([i, topic["topic"], " / ".join(x for x in (topic["level1"], topic["level2"]) if x), detail])
    _table(doc, ["序号", "高发诉求", "所属类别", "往年同期情况"], rows)
    doc.add_paragraph("")
    _para(doc, "请于本月底前将提前防范措施和责任人报送12345热线办公室。热线将持续跟踪上述诉求的来电变化，"
               "并在月度分析中通报落实成效。")
    return _sign(doc, reminder.created_at)


# ---- 月度诉求分析报告 -----------------------------------------------------------------------------------

def monthly_report(*, title: str, summary: dict[str, Any], by_category: dict[str, Any], by_town: dict[str, Any],
                   by_day: dict[str, Any], ranking: list[dict[str, Any]], spots: list[dict[str, Any]],
                   enterprise: dict[str, Any]) -> bytes:
    doc = _document(title)
    n = iter(CN_NUM)
    _heading(doc, f"{next(n)}、总体情况")
    span = _cn_span(date.fromisoformat(summary["start"]), date.fromisoformat(summary["end"]))
    _para(doc, f"{span}，{HOTLINE}共受理群众诉求{summary['total']}件，"
               f"环比{_change(summary['change']['previous'])}，同比{_change(summary['change']['same_period_last_year'])}。"
               f"响应率{_pct(summary['response_rate'])}，按时办结率{_pct(summary['on_time_rate'])}，"
               f"解决率{_pct(summary['resolution_rate'])}，满意率{_pct(summary['satisfaction_rate'])}；"
               f"退单率{_pct(summary['return_rate'])}，重复诉求率{_pct(summary['repeat_rate'])}；"
               f"目前超期未办结{summary['overdue']}件，超期办结{summary['late_replied']}件。")
    doc.add_picture(_chart("line", [g["label"] for g in by_day["groups"]], [g["total"] for g in by_day["groups"]],
                           "每日受理量"), width=Cm(16))
    _heading(doc, f"{next(n)}、诉求分类")
    top = by_category["groups"][:10]
    if top:
        _para(doc, f"从诉求类别看，排名前三的是{_listing(top[:3])}。")
        doc.add_picture(_chart("bar", [g["label"] for g in top], [g["total"] for g in top], "诉求类别（前十）"), width=Cm(16))
        _table(doc, ["类别", "件数", "占比", "按时办结率", "满意率"],
               [[g["label"], g["total"], _pct(g["total"] / summary["total"] if summary["total"] else None),
                 _pct(g["on_time_rate"]), _pct(g["satisfaction_rate"])] for g in top])
    _heading(doc, f"{next(n)}、区域分布")
    towns = [g for g in by_town["groups"] if g["key"]][:10]
    _para(doc, "诉求量较多的镇（街道）为" + (_listing(towns[:5]) or "（无）") + "。")
    _heading(doc, f"{next(n)}、承办单位“三率”排名")
    _table(doc, ["名次", "承办单位", "综合得分", "响应率", "按时办结率", "满意率", "受理量"],
           [[r["rank"], r["label"], _pct(r["score"]), _pct(r["response_rate"]), _pct(r["on_time_rate"]),
             _pct(r["satisfaction_rate"]), r["total"]] for r in ranking[:15]])
    _heading(doc, f"{next(n)}、热点问题")
    if spots:
        for i, s in enumerate(spots[:5], 1):
            where = "、".join(p["place"] for p in s["places"][:3]) or "多地"
            _para(doc, f"{i}. {s['title']}：{s['count']}件，主要集中在{where}，走势{s['trend']}"
                       f"{'，属突发性热点' if s['burst'] else ''}；主办单位{s['department'] or '待定'}。")
    else:
        _para(doc, "本期未发现集中性热点问题。")
    _heading(doc, f"{next(n)}、企业诉求")
    _para(doc, f"本期受理企业诉求{enterprise['total']}件，按时办结率{_pct(enterprise['on_time_rate'])}，"
               f"满意率{_pct(enterprise['satisfaction_rate'])}。" + (
                   "主要涉及" + _listing(enterprise["groups"][:3]) + "。"
                   if enterprise["groups"] else ""))
    _heading(doc, f"{next(n)}、工作建议")
    _para(doc, "一是对超期件、不满意件、退回重办件实行提级督办，由承办单位主要领导亲自研究解决；"
               "二是对热点问题和往年同期高发事项，及时发送工作提醒函，推动“未诉先办”；"
               "三是对排名靠后的承办单位加强业务培训，进一步规范签收、办理和答复流程。")
    _heading(doc, "附：指标口径")
    for formula in summary["formulas"].values():
        _para(doc, formula)
    return _sign(doc)


# ---- 热点分析专报 ---------------------------------------------------------------------------------------

def hotspot_report(*, topic: str, period: Period, docs: list[Any], series: list[tuple[str, int]],
                   places: list[tuple[str, int]], departments: list[tuple[str, int]], samples: list[str],
                   last_year: int) -> bytes:
    doc = _document(f"热点分析专报\n——关于“{topic}”相关诉求的分析")
    doc.add_paragraph(f"{HOTLINE}　{_cn_date(period.end)}").alignment = WD_ALIGN_PARAGRAPH.CENTER
    _heading(doc, "一、基本情况")
    _para(doc, f"{_cn_span(period.start, period.end)}，热线共受理“{topic}”相关诉求{len(docs)}件，"
               f"去年同期{last_year}件，" + ("同比" + _change((len(docs) - last_year) / last_year) if last_year else "去年同期无同类诉求")
          + "。")
    if series:
        doc.add_picture(_chart("line", [d for d, _ in series], [c for _, c in series], f"“{topic}”每日诉求量"), width=Cm(16))
    _heading(doc, "二、分布特点")
    _para(doc, "从区域看，" + ("、".join(f"{p}（{n}件）" for p, n in places[:5]) or "分布较散") + "；"
               "从承办单位看，" + ("、".join(f"{d}（{n}件）" for d, n in departments[:5]) or "尚未派单") + "。")
    _heading(doc, "三、群众反映的主要问题")
    for i, text in enumerate(samples[:5], 1):
        _para(doc, f"{i}. {text}")
    _heading(doc, "四、工作建议")
    _para(doc, f"建议相关单位对“{topic}”问题开展集中排查，落实属地和行业监管责任，对重点区域提前介入；"
               "热线将持续监测来电变化，及时推送预警信息。")
    return _sign(doc)
