"""督办函 (supervision letter) as a .docx, addressed to the department, rendered on download."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from api.core.settings import get_settings
from api.org.models import Department
from api.tickets import deadlines
from api.tickets.access import mask_text
from api.tickets.flows import LEVEL_LABELS, REASON_LABELS, supervision_deadline
from api.tickets.models import Supervision, Ticket


def _cn_date(moment) -> str:
    local = moment.astimezone(ZoneInfo(get_settings().timezone))
    return f"{local.year}年{local.month}月{local.day}日"


def letter_place(ticket: Ticket) -> str:
    """诉求地点 as the gazetteer understood it (镇/街道 + the matched address), not the citizen's words,
    which may carry dialect and a phone number; masked whichever is used."""
    town, detail = ticket.location_town or "", (ticket.location_detail or "").strip()
    if town or detail:
        place = detail if detail.startswith(town) else f"{town}{detail}"
        return mask_text(place) or "—"
    return mask_text(ticket.location) or "—"


def letter_category(ticket: Ticket) -> str:
    return " / ".join(x for x in (ticket.category_level1, ticket.category_level2, ticket.category_level3) if x) or "未分类"


def render_letter(*, supervision: Supervision, ticket: Ticket, department: Department | None) -> bytes:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(14)
    # Chinese text takes the East Asian font slot; without it Word falls back to a Latin font.
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋")

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("建湖县12345政务服务便民热线\n督 办 函")
    run.bold = True
    run.font.size = Pt(22)
    number = doc.add_paragraph(supervision.letter_no)
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER

    addressee = department.name if department else (supervision.department_id or "承办单位")
    doc.add_paragraph(f"{addressee}：")
    reason = REASON_LABELS.get(supervision.reason_kind, supervision.reason_kind)
    level = LEVEL_LABELS.get(supervision.level, f"第{supervision.level}级")
    # One deadline in the body and the table (letters filed before it was reconciled included).
    deadline = supervision_deadline(ticket=ticket, supervised_until=supervision.due_at) if supervision.due_at else ticket.complete_due_at
    due = deadlines.describe(deadline) if deadline else "三个工作日内"
    doc.add_paragraph(
        f"    市民诉求工单 {ticket.ticket_no} 因{reason}，现按“提级督办”机制进行第{supervision.level}级督办"
        f"（{level}）。请贵单位主要领导亲自研究解决，于{due}前办结，并将办理结果通过12345平台反馈。"
    )
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    rows = [
        ("工单编号", ticket.ticket_no),
        ("受理时间", _cn_date(ticket.created_at)),
        ("诉求类别", letter_category(ticket)),
        ("诉求地点", letter_place(ticket)),
        ("诉求内容", mask_text(ticket.description) or ""),
        ("督办原因", f"{reason}。{supervision.reason}"),
        ("办结时限", due if deadline else "—"),
    ]
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    doc.add_paragraph("")
    sign = doc.add_paragraph(f"建湖县12345政务服务便民热线\n{_cn_date(supervision.created_at)}")
    sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
