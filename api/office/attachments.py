"""答复附件: files a department attaches to its reply, kept under the data dir, limited and audited."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.deps import Principal
from api.auth.models import Role
from api.core.settings import get_settings
from api.office.models import TicketAttachment
from api.office.service import OfficeError
from api.tickets import access
from api.tickets.models import TERMINAL_STATUSES, Ticket
from api.tickets.service import record_event

# The kinds a reply needs (photos, a scanned 答复函, a spreadsheet), recognised by their first bytes:
# the browser's Content-Type and the file name are the user's word, the bytes are not.
KINDS = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}
UPLOAD_ROLES = frozenset({Role.handler, Role.dispatcher, Role.supervisor, Role.admin})


def clean_filename(name: str) -> str:
    name = Path(name.replace("\\", "/")).name  # never a path: only the last part
    name = re.sub(r"[\x00-\x1f<>:\"/|?*]", "", name).strip(" .")
    return name[-120:] or "附件"


def out(attachment: TicketAttachment, ticket_no: str) -> dict[str, Any]:
    return {"id": attachment.id, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "uploaded_by": attachment.uploaded_by, "department_id": attachment.department_id,
            "created_at": attachment.created_at.isoformat(),
            "url": f"/api/v1/office/tickets/{ticket_no}/attachments/{attachment.id}"}


def list_for(*, db_session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    rows = db_session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
                              .order_by(TicketAttachment.id))
    return [out(a, ticket.ticket_no) for a in rows]


def add(*, db_session: Session, principal: Principal, ticket: Ticket, filename: str, body: bytes) -> dict[str, Any]:
    """Store one file; 403/409/413/415/422 with the reason in Mandarin."""
    settings = get_settings().office
    if principal.role not in UPLOAD_ROLES:
        raise OfficeError(403, "您的岗位不上传答复附件。")
    if principal.role == Role.handler and not access.owns(principal, ticket):
        raise OfficeError(403, "只有承办这张工单的单位可以上传附件。")
    if ticket.status in TERMINAL_STATUSES:
        raise OfficeError(409, f"工单已是「{ticket.status}」，不能再添加附件。")
    name = clean_filename(filename)
    ext = Path(name).suffix.lower()
    if ext not in KINDS:
        raise OfficeError(415, "附件只收图片（jpg、png）、PDF、Word（docx）和 Excel（xlsx）。")
    if not body:
        raise OfficeError(422, "附件是空的。")
    if len(body) > settings.attachment_max_bytes:
        raise OfficeError(413, f"附件太大：每个不超过 {settings.attachment_max_bytes // 1000} KB。")
    content_type, magics = KINDS[ext]
    if not body.startswith(magics):
        raise OfficeError(415, f"文件内容与扩展名 {ext} 不符，请上传真实的文件。")
    existing = db_session.scalar(select(func.count()).where(TicketAttachment.ticket_id == ticket.id)) or 0
    if existing >= settings.attachments_per_ticket:
        raise OfficeError(409, f"每张工单最多 {settings.attachments_per_ticket} 个附件。")
    digest = hashlib.sha256(body).hexdigest()
    stored_as = f"{ticket.id}/{uuid.uuid4().hex}{ext}"
    path = settings.attachments_dir / stored_as
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    attachment = TicketAttachment(
        ticket_id=ticket.id, department_id=principal.department_id if principal.role == Role.handler else None,
        filename=name, content_type=content_type, size=len(body), sha256=digest, stored_as=stored_as,
        uploaded_by=principal.username,
    )
    db_session.add(attachment)
    db_session.flush()
    record_event(db_session=db_session, ticket=ticket, action="attach", actor=principal.username,
                 note=f"上传附件：{name}（{len(body) // 1024 or 1} KB）",
                 data={"attachment_id": attachment.id, "sha256": digest, "size": len(body)})
    try:
        db_session.commit()
    except Exception:
        path.unlink(missing_ok=True)  # no row, no orphan file
        raise
    return out(attachment, ticket.ticket_no)


def file_of(*, db_session: Session, ticket: Ticket, attachment_id: int) -> tuple[TicketAttachment, Path]:
    attachment = db_session.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise OfficeError(404, f"工单 {ticket.ticket_no} 没有这个附件。")
    path = get_settings().office.attachments_dir / attachment.stored_as
    if not path.is_file():
        raise OfficeError(404, "附件文件已不在存储目录中，请联系管理员。")
    return attachment, path
