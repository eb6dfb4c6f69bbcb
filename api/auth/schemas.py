from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.auth.models import Role


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=128)
    full_name: str = Field(default="", max_length=64)
    role: Role
    department_id: str | None = Field(default=None, max_length=64, description="承办人必填：所属承办单位（id、简称或代码）")
    leader_id: str | None = Field(default=None, max_length=64, description="分管领导必填：leaders.yml 中的 id")


class UserPatch(BaseModel):
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    username: str
    full_name: str
    role: str
    department_id: str | None
    leader_id: str | None
    active: bool
    created_at: datetime
