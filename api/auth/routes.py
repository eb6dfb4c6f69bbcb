from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.deps import AdminUser, CurrentUser
from api.auth.schemas import TokenOut, UserIn, UserOut, UserPatch
from api.auth.security import create_access_token
from api.core.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


def user_out(user) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.post("/auth/token", response_model=TokenOut, summary="登录（OAuth2 密码模式），返回 JWT")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], db_session: SessionDep) -> TokenOut:
    user = service.authenticate(db_session=db_session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail="用户名或密码不正确。", headers={"WWW-Authenticate": "Bearer"}
        )
    token, seconds = create_access_token(username=user.username, role=user.role)
    return TokenOut(access_token=token, expires_in=seconds, role=user.role)


@router.get("/auth/me", response_model=UserOut, summary="当前登录的账号")
def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="新建人员账号（管理员）")
def create_user(user_in: UserIn, admin: AdminUser, db_session: SessionDep) -> UserOut:
    return user_out(service.create_user(db_session=db_session, user_in=user_in, actor=admin.username))


@router.get("/users", response_model=list[UserOut], summary="人员账号列表（管理员）")
def list_users(_: AdminUser, db_session: SessionDep) -> list[UserOut]:
    return [user_out(u) for u in service.list_users(db_session=db_session)]


@router.patch("/users/{username}", response_model=UserOut, summary="停用/启用账号、重置密码（管理员）")
def patch_user(username: str, patch: UserPatch, _: AdminUser, db_session: SessionDep) -> UserOut:
    return user_out(service.update_user(db_session=db_session, username=username, patch=patch))
