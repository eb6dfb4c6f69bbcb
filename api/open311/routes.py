"""Open311 GeoReport v2 (JSON) under /open311/v2/, so existing Open311 clients can file and track.

POST requests.json takes form fields (as the spec says) or JSON; api_key is the configured key.
Errors follow the spec: a list of {"code", "description"}.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core.db import SessionDep
from api.core.settings import get_settings
from api.open311 import service as o311
from api.org.models import Department
from api.tickets import intake
from api.tickets.access import mask_text
from api.tickets.models import Ticket
from api.tickets.schemas import TicketIn

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def error(code: int, description: str) -> JSONResponse:
    return JSONResponse(status_code=code, content=[{"code": code, "description": description}])


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).isoformat(timespec="seconds") if moment else None


def _service_json(s: o311.Service) -> dict:
    return {
        "service_code": s.code, "service_name": s.name, "description": f"{s.group} / {s.name}",
        "metadata": False, "type": "realtime", "keywords": ",".join(s.keywords), "group": s.group,
    }


@router.get("/discovery.json", summary="Open311 discovery")
def discovery() -> dict:
    base = get_settings().public_base_url.rstrip("/") + "/open311/v2/"
    return {"changeset": "2026-11-27T00:00:00Z", "contact": "建湖县12345政务服务便民热线",
            "key_service": "向建湖县12345平台申请 api_key",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                           "changeset": "2026-11-27T00:00:00Z", "type": "production", "formats": ["application/json"]}]}


@router.get("/services.json", summary="服务列表（来自诉求分类的一、二级）")
def services() -> list[dict]:
    return [_service_json(s) for s in o311.services().values()]


@router.get("/services/{service_code}.json", summary="服务定义（无附加属性）")
def service_definition(service_code: str):
    if service_code not in o311.services():
        return error(404, f"没有这个服务：{service_code}")
    return {"service_code": service_code, "attributes": []}


def _request_json(ticket: Ticket, departments: dict[str, str]) -> dict:
    extra = (ticket.extra or {}).get("open311") or {}
    public = ticket.channel == "open311"
    code = extra.get("service_code") or (
        o311.service_code(ticket.category_level1, ticket.category_level2) if ticket.category_level1 and ticket.category_level2 else None
    )
    service = o311.services().get(code or "")
    return {
        "service_request_id": ticket.ticket_no,
        "status": o311.status_of(ticket),
        "status_notes": o311.status_notes(ticket),
        "service_name": service.name if service else ticket.category_level2,
        "service_code": code,
        # Open311 reads are public: no contact details; the text and address only of requests filed
        # through Open311 itself (not of calls and chats), numbers masked, 保密件 without text.
        "description": mask_text(ticket.description) if public and not ticket.confidential else None,
        "agency_responsible": departments.get(ticket.lead_department or ""),
        "service_notice": f"请于{_iso(ticket.complete_due_at)[:10]}前留意办理结果" if ticket.complete_due_at else None,
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated_at),
        "expected_datetime": _iso(ticket.complete_due_at),
        "address": ticket.location if public else None,
        "address_id": None,
        "zipcode": None,
        "lat": extra.get("lat") if public else None,
        "long": extra.get("long") if public else None,
        "media_url": extra.get("media_url"),
    }


def _departments(db_session: Session) -> dict[str, str]:
    return dict(db_session.execute(select(Department.id, Department.name)).all())


async def _form(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            return {}
        return body if isinstance(body, dict) else {}
    return dict(await request.form())


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@router.post("/requests.json", summary="提交诉求（需 api_key）")
async def create_request(request: Request, db_session: SessionDep):
    form = await _form(request)
    key = str(form.get("api_key") or "")
    if not key or not hmac.compare_digest(key.encode(), get_settings().open311.api_key.encode()):
        return error(403, "api_key 无效。")
    service = o311.services().get(str(form.get("service_code") or ""))
    if service is None:
        return error(400, "service_code 无效：请先查询 services.json。")
    lat, lon = _float(form.get("lat")), _float(form.get("long"))
    address = str(form.get("address_string") or "").strip() or None
    if address is None and (lat is None or lon is None):
        return error(400, "需要提供位置：address_string，或 lat 与 long。")
    description = str(form.get("description") or "").strip()
    name = " ".join(x for x in (str(form.get("last_name") or ""), str(form.get("first_name") or "")) if x).strip() or None
    demand_type = str(form.get("attribute[demand_type]") or "help_request")
    try:
        ticket_in = TicketIn(
            channel="open311", demand_type=demand_type, description=description or service.name,
            location=address or f"{lat},{lon}", citizen_name=name, phone=str(form.get("phone") or "").strip() or None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        return error(400, f"{'.'.join(map(str, first['loc']))}：{str(first['msg']).removeprefix('Value error, ')}")
    extra = {"open311": {
        "service_code": service.code, "lat": lat, "long": lon, "email": form.get("email") or None,
        "device_id": form.get("device_id") or None, "account_id": form.get("account_id") or None,
        "media_url": form.get("media_url") or None,
    }}
    ticket, _ = intake.create(
        db_session=db_session, ticket_in=ticket_in, idempotency_key=f"open311:{uuid.uuid4()}", actor="open311",
        extra=extra, category=(service.level1, service.level2),
    )
    notice = f"已受理，工单号 {ticket.ticket_no}" + (f"，预计{_iso(ticket.complete_due_at)[:10]}前办结" if ticket.complete_due_at else "")
    return [{"service_request_id": ticket.ticket_no, "service_notice": notice, "account_id": extra["open311"]["account_id"]}]


def _load(db_session: Session, query) -> list[Ticket]:
    return list(db_session.scalars(query.options(
        selectinload(Ticket.assignments), selectinload(Ticket.merged_into)
    )))


def _parse_time(value: str | None) -> datetime | None | str:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "bad"
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(get_settings().timezone))


@router.get("/requests.json", summary="查询诉求（按编号、服务、时间、状态）")
def list_requests(
    db_session: SessionDep, service_request_id: str | None = None, service_code: str | None = None,
    start_date: str | None = None, end_date: str | None = None, status: str | None = None,
):
    if service_request_id:  # by number: any ticket (a caller may track their call's ticket here)
        ids = [x.strip() for x in service_request_id.split(",") if x.strip()][:100]
        query = select(Ticket).where(Ticket.ticket_no.in_(ids))
    else:  # browsing lists only what was filed through Open311, never calls and chats
        query = select(Ticket).where(Ticket.channel == "open311")
        start, end = _parse_time(start_date), _parse_time(end_date)
        if start == "bad" or end == "bad":
            return error(400, "start_date/end_date 须为 ISO 8601 时间（如 2026-11-27T00:00:00+08:00）。")
        if service_code:
            service = o311.services().get(service_code)
            if service is None:
                return error(400, "service_code 无效。")
            query = query.where(Ticket.category_level1 == service.level1, Ticket.category_level2 == service.level2)
        if start:
            query = query.where(Ticket.created_at >= start)
        if end:
            query = query.where(Ticket.created_at <= end)
        if status in ("open", "closed"):
            closed = [s.value for s in o311.CLOSED]
            query = query.where(Ticket.status.in_(closed) if status == "closed" else Ticket.status.notin_(closed))
        elif status:
            return error(400, "status 只能是 open 或 closed。")
        query = query.order_by(Ticket.created_at.desc()).limit(1000)
    departments = _departments(db_session)
    return [_request_json(t, departments) for t in _load(db_session, query)]


@router.get("/requests/{service_request_id}.json", summary="查询单个诉求")
def get_request(service_request_id: str, db_session: SessionDep):
    found = _load(db_session, select(Ticket).where(Ticket.ticket_no == service_request_id))
    if not found:
        return error(404, f"没有找到诉求 {service_request_id}。")
    return [_request_json(found[0], _departments(db_session))]

