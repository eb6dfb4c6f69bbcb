"""Staff endpoints for a citizen's personal data: export and erasure on request, the retention policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field, field_validator

from api.auth.deps import CurrentUser, require_roles
from api.auth.models import Role, User
from api.core.db import SessionDep
from api.core.text import normalise_phone
from api.privacy import service
from api.privacy.policy import retention_policy

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
DATA_ROLES = (Role.supervisor, Role.admin)  # who may act on a citizen's request
DataOfficer = Annotated[User, Depends(require_roles(*DATA_ROLES))]
Admin = Annotated[User, Depends(require_roles(Role.admin))]


class SubjectIn(BaseModel):
    phone: str = Field(min_length=5, max_length=32, description="市民的联系电话（据此查找其个人信息）")
    reason: str = Field(min_length=2, max_length=500, description="依据：市民申请的方式、时间、受理人")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)


class PrivacyEventOut(BaseModel):
    id: int
    action: str
    actor: str
    subject: str
    note: str | None
    counts: dict[str, int] | None
    created_at: datetime


@router.get("/policy", summary="个人信息保存期限（按数据种类）")
def policy(_: CurrentUser) -> dict[str, Any]:
    return {"retention": retention_policy().as_table()}


@router.post("/export", summary="导出某位市民的个人信息（查阅、复制；留痕）")
def export(body: SubjectIn, user: DataOfficer, db_session: SessionDep) -> dict[str, Any]:
    return service.export(db_session=db_session, phone=body.phone, actor=user.username, reason=body.reason)


@router.post("/erase", summary="删除某位市民的个人信息（工单保留、联系方式和对话删除；留痕）")
def erase(body: SubjectIn, user: DataOfficer, db_session: SessionDep) -> dict[str, int]:
    counts = service.erase(db_session=db_session, phone=body.phone, actor=user.username, reason=body.reason)
    if not any(counts.values()):
        raise HTTPException(404, detail="没有找到这个号码的个人信息。")
    return counts


@router.post("/purge", summary="立即按保存期限清理（平时由定时任务执行）")
def purge(user: Admin, db_session: SessionDep) -> dict[str, int]:
    return service.purge(db_session=db_session, actor=user.username)


@router.get("/events", response_model=list[PrivacyEventOut], summary="个人信息处理记录（清理、导出、删除）")
def privacy_events(_: Admin, db_session: SessionDep) -> list[PrivacyEventOut]:
    return [PrivacyEventOut.model_validate(e, from_attributes=True) for e in service.events(db_session=db_session)]
