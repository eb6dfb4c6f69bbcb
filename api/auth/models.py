"""Staff accounts and their roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, utcnow


class Role(StrEnum):
    agent = "agent"  # 坐席
    dispatcher = "dispatcher"  # 派单员
    handler = "handler"  # 承办人 (one department)
    supervisor = "supervisor"  # 督办
    leader = "leader"  # 分管领导
    admin = "admin"
    service = "service"  # machines holding the service token (bot, voice gateway); never a user's role


ROLE_LABELS = {
    Role.agent: "坐席",
    Role.dispatcher: "派单员",
    Role.handler: "承办人",
    Role.supervisor: "督办",
    Role.leader: "分管领导",
    Role.admin: "管理员",
    Role.service: "服务令牌",
}
USER_ROLES = tuple(r for r in Role if r is not Role.service)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    full_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), index=True)
    department_id: Mapped[str | None] = mapped_column(String(64), index=True)
    leader_id: Mapped[str | None] = mapped_column(String(64))
    sip_uri: Mapped[str | None] = mapped_column(String(255))  # the agent's extension, for call transfer
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change and deactivation: every token issued before stops working.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
