from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.deps import AdminUser, CurrentUser
from api.auth.models import User
from api.auth.schemas import PasswordChangeIn, RefreshIn, TokenOut, UserIn, UserOut, UserPatch
from api.auth.security import create_access_token, create_refresh_token, decode_refresh_token
from api.auth.throttle import login_throttle
from api.core.db import SessionDep
from api.core.http import client_address

router = APIRouter(prefix="/api/v1", tags=["auth"])


def user_out(user) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def tokens_for(user: User) -> TokenOut:
    access, seconds = create_access_token(username=user.username, role=user.role, version=user.token_version)
    refresh, refresh_seconds = create_refresh_token(username=user.username, role=user.role,
                                                    version=user.token_version)
    return TokenOut(access_token=access, expires_in=seconds, refresh_token=refresh,
                    refresh_expires_in=refresh_seconds, role=user.role)


def _bad_login(detail: str = "用户名或密码不正确。") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


THROTTLED = {429: {"description": "尝试次数过多，请按 Retry-After 秒数后再试"}}


@router.post("/auth/token", response_model=TokenOut, responses={401: {"description": "用户名或密码不正确"}, **THROTTLED},
             summary="登录（OAuth2 密码模式），返回访问令牌和刷新令牌")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db_session: SessionDep) -> TokenOut:
    client = client_address(request)
    wait = login_throttle.refusal(account=form.username, client=client)
    if wait is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=f"登录尝试次数过多，请{wait}秒后再试。",
                            headers={"Retry-After": str(wait)})
    user = service.authenticate(db_session=db_session, username=form.username, password=form.password)
    if user is None:
        login_throttle.failed(account=form.username, client=client)
        raise _bad_login()
    login_throttle.succeeded(account=form.username)
    return tokens_for(user)


@router.post("/auth/refresh", response_model=TokenOut, responses={401: {"description": "刷新令牌无效或已失效"}},
             summary="用刷新令牌换新的访问令牌（刷新令牌同时轮换）")
def refresh(body: RefreshIn, db_session: SessionDep) -> TokenOut:
    claims = decode_refresh_token(body.refresh_token)
    user = service.get_by_username(db_session=db_session, username=str(claims["sub"])) if claims else None
    if user is None or not user.active or claims.get("ver") != user.token_version:
        raise _bad_login("刷新令牌无效或已失效，请重新登录。")
    return tokens_for(user)


@router.post("/auth/password", response_model=TokenOut, summary="修改自己的密码（此前签发的令牌全部失效）")
def change_password(body: PasswordChangeIn, user: CurrentUser, db_session: SessionDep) -> TokenOut:
    user = service.change_own_password(db_session=db_session, user=user, current_password=body.current_password,
                                       new_password=body.new_password)
    return tokens_for(user)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="退出登录（本账号所有令牌失效）")
def logout(user: CurrentUser, db_session: SessionDep) -> None:
    service.revoke_tokens(user)
    db_session.commit()


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
