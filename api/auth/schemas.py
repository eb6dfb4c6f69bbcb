from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.auth.models import Role

SIP_URI = r"^sips?:[^@\s<>;]+@[^@\s<>]+$"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    role: str


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=2000)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=128)
    full_name: str = Field(default="", max_length=64)
    role: Role
    department_id: str | None = Field(default=None, max_length=64, description="承办人必填：所属承办单位（id、简称或代码）")
    leader_id: str | None = Field(default=None, max_length=64, description="分管领导必填：leaders.yml 中的 id")
    sip_uri: str | None = Field(default=None, max_length=255, pattern=SIP_URI,
                                description="坐席分机（转接来电用），如 sip:1001@pbx.example.org")


class UserPatch(BaseModel):
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=64)
    sip_uri: str | None = Field(default=None, max_length=255, pattern=f"^$|{SIP_URI}", description="空字符串清除分机")


class UserOut(BaseModel):
    username: str
    full_name: str
    role: str
    department_id: str | None
    leader_id: str | None
    sip_uri: str | None = None
    active: bool
    created_at: datetime
