"""网络渠道 (我的盐城、人民网留言、互联网+督查…): messages exported by online platforms become tickets of
channel `online`, through the ordinary intake (classification, routing, 六方联动, repeats, deadlines).

Accepted exports: CSV/TSV, Excel (.xlsx) or JSON (a list of objects, or {"items": [...]}), with the
columns of the TipDM board data — id, time, subject, detail, likes, dislikes — or their Chinese
headers (留言编号, 留言时间, 留言主题, 留言详情, 点赞数, 反对数). The message time is the ticket's
acceptance time. Deduplication: the Idempotency-Key is the hash of the message's text, so the same
message imported twice, or reposted under another id, is one ticket.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import HTTPException
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import api.analytics.changes  # noqa: F401 — imported tickets mark their 日汇总 day (old dates too)
from api.core.settings import get_settings
from api.core.text import clean_text
from api.tickets import intake
from api.tickets.models import IdempotencyRecord, Ticket
from api.tickets.schemas import TicketIn

COLUMNS = {
    "id": ("id", "留言编号", "编号", "message_id"),
    "time": ("time", "留言时间", "时间", "created_at", "date"),
    "subject": ("subject", "留言主题", "主题", "标题", "title"),
    "detail": ("detail", "留言详情", "详情", "内容", "content", "body"),
    "likes": ("likes", "点赞数", "点赞"),
    "dislikes": ("dislikes", "反对数", "反对"),
}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_DEMAND_RULES = (
    ("report", re.compile(r"举报|检举|揭发")),
    ("praise", re.compile(r"感谢|表扬|点赞.{0,6}(工作人员|部门|政府)|致谢")),
    ("suggestion", re.compile(r"建议|提议|能否(增设|增加|修建|开通)|希望(增设|增加|修建|开通)")),
    ("help_request", re.compile(r"求助|救救|帮帮|走投无路")),
    ("consultation", re.compile(r"咨询|请问|如何办理|怎么办理|是否可以|能不能|政策是|需要什么(材料|手续)")),
)


class ImportError_(ValueError):  # noqa: N801 — not the builtin ImportError
    pass


@dataclass
class OnlineMessage:
    row: int
    id: str
    time: datetime
    subject: str
    detail: str
    likes: int = 0
    dislikes: int = 0


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": len(self.created), "duplicates": len(self.duplicates), "rejected": self.rejected,
                "tickets": self.created}


def demand_type_of(text: str) -> str:
    """The demand type as the platform's staff would register it (默认投诉: most board messages complain)."""
    head = text[:200]
    for demand, pattern in _DEMAND_RULES:
        if pattern.search(head):
            return demand
    return "complaint"


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip()
        for fmt in _TIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ImportError_(f"时间格式不对：{text[:30]}（应如 2019-02-28 11:25:05）")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().timezone))  # platforms export Beijing time
    return moment.astimezone(UTC)


def _rows(content: bytes, filename: str) -> list[dict[str, Any]]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            return []
        headers = [str(h or "").strip() for h in rows[0]]
        return [dict(zip(headers, r, strict=False)) for r in rows[1:] if any(x is not None for x in r)]
    text = content.decode("utf-8-sig", errors="replace")
    if name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportError_(f"JSON 无法解析：第{exc.lineno}行 {exc.msg}") from None
        data = data.get("items", data.get("data")) if isinstance(data, dict) else data
        if not isinstance(data, list):
            raise ImportError_("JSON 应为留言列表，或 {\"items\": [...]}。")
        return [r for r in data if isinstance(r, dict)]
    if name.endswith((".csv", ".tsv", ".txt")):
        delimiter = "\t" if name.endswith(".tsv") or text.split("\n", 1)[0].count("\t") > 0 else ","
        return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    raise ImportError_("只支持 CSV、TSV、Excel（.xlsx）或 JSON 文件。")


def parse(*, content: bytes, filename: str) -> tuple[list[OnlineMessage], list[dict[str, Any]]]:
    rows = _rows(content, filename)
    if not rows:
        raise ImportError_("文件里没有留言。")
    headers = {str(h).strip(): h for h in rows[0]}
    mapping = {}
    for field_name, aliases in COLUMNS.items():
        found = next((headers[a] for a in aliases if a in headers), None)
        if found is not None:
            mapping[field_name] = found
    missing = [f for f in ("time", "detail") if f not in mapping]
    if missing and not ("subject" in mapping and "time" in mapping):
        raise ImportError_(f"缺少列：{'、'.join(missing)}（可用：{'、'.join(a for f in missing for a in COLUMNS[f][:2])}）")
    messages, rejected = [], []
    for i, row in enumerate(rows, start=2):
        def get(name: str, row: dict[str, Any] = row) -> Any:
            return row.get(mapping[name]) if name in mapping else None

        try:
            subject = clean_text(str(get("subject") or ""))
            detail = clean_text(str(get("detail") or ""))
            if len(subject + detail) < 4:
                raise ImportError_("留言内容为空或太短")
            messages.append(OnlineMessage(row=i, id=str(get("id") or f"row{i}").strip(), time=parse_time(get("time")),
                                          subject=subject, detail=detail, likes=int(float(get("likes") or 0)),
                                          dislikes=int(float(get("dislikes") or 0))))
        except (ImportError_, ValueError) as exc:
            rejected.append({"row": i, "reason": str(exc)})
    return messages, rejected


def content_key(message: OnlineMessage) -> str:
    text = re.sub(r"\s+", "", f"{message.subject}{message.detail}")
    return "online:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _existing_no(db_session: Session, key: str) -> str | None:
    return db_session.scalar(select(Ticket.ticket_no).join(IdempotencyRecord, IdempotencyRecord.ticket_id == Ticket.id)
                             .where(IdempotencyRecord.key == key))


def import_messages(*, db_session: Session, messages: list[OnlineMessage], platform: str, actor: str,
                    result: ImportResult | None = None) -> ImportResult:
    result = result or ImportResult()
    for message in messages:
        description = message.detail if message.subject and message.subject in message.detail[:80] \
            else f"{message.subject}。{message.detail}".strip("。")
        try:
            ticket_in = TicketIn(channel="online", demand_type=demand_type_of(f"{message.subject} {message.detail}"),
                                 description=description[:8000])
        except ValidationError as exc:
            result.rejected.append({"row": message.row, "reason": exc.errors()[0]["msg"]})
            continue
        try:
            ticket, created = intake.create(
                db_session=db_session, ticket_in=ticket_in, idempotency_key=content_key(message), actor=actor,
                now=message.time, extra={"online": {"platform": platform, "id": message.id, "subject": message.subject,
                                                    "likes": message.likes, "dislikes": message.dislikes}})
        except HTTPException as exc:
            # The same words laid out differently (spaces, line breaks): the message is already a ticket.
            db_session.rollback()
            if exc.status_code != 409:
                raise
            result.duplicates.append(_existing_no(db_session, content_key(message)) or message.id)
            continue
        (result.created if created else result.duplicates).append(ticket.ticket_no)
    return result
