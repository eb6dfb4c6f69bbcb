"""Who is calling: a staff member (JWT) or a machine (service token). Reusable role checks."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, WebSocket, status
from fastapi.security import OAuth2PasswordBearer

from api.auth import service
from api.auth.models import ROLE_LABELS, Role, User
from api.auth.security import decode_access_token
from api.core.db import SessionDep, session_factory
from api.core.security import is_service_token
from api.core.sockets import first_message_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    department_id: str | None = None
    leader_id: str | None = None

    @property
    def is_service(self) -> bool:
        return self.role == Role.service


SERVICE = Principal(username="bot", role=Role.service)


def _unauthorized(detail: str = "需要登录：请先获取访问令牌（POST /api/v1/auth/token）。") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _user_from_token(token: str | None, db_session) -> User:
    if not token:
        raise _unauthorized()
    claims = decode_access_token(token)
    if claims is None:
        raise _unauthorized("访问令牌无效或已过期，请重新登录。")
    user = service.get_by_username(db_session=db_session, username=str(claims["sub"]))
    if user is None or not user.active:
        raise _unauthorized("账号不存在或已停用。")
    if claims.get("ver") != user.token_version:  # password changed or account deactivated since
        raise _unauthorized("访问令牌已失效（密码已修改或账号已停用），请重新登录。")
    return user


async def socket_user(socket: WebSocket, roles: Collection[str]) -> User | None:
    """The staff member on an accepted WebSocket, from the token in its first message (never the URL:
    URLs reach logs); closes the socket (4401 not signed in, 4403 wrong role) and returns None otherwise."""
    token = await first_message_token(socket)
    try:
        with session_factory()() as db_session:
            user = _user_from_token(token, db_session)
    except HTTPException:
        await socket.close(code=4401)
        return None
    if user.role not in roles:
        await socket.close(code=4403)
        return None
    return user


def get_current_user(token: TokenDep, db_session: SessionDep) -> User:
    return _user_from_token(token, db_session)


CurrentUser = Annotated[User, Depends(get_current_user)]


def principal_of(user: User) -> Principal:
    return Principal(username=user.username, role=Role(user.role), department_id=user.department_id, leader_id=user.leader_id)


def get_principal(token: TokenDep, db_session: SessionDep) -> Principal:
    """The service token (bot, voice gateway) or a staff JWT."""
    if token and is_service_token(token):
        return SERVICE
    return principal_of(_user_from_token(token, db_session))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _forbidden(roles: tuple[Role, ...]) -> HTTPException:
    names = "、".join(ROLE_LABELS[r] for r in roles)
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=f"权限不足：只有{names}可以这样做。")


def require_roles(*roles: Role) -> Callable[[User], User]:
    """Dependency factory for staff-only routes: `user: Annotated[User, Depends(require_roles(Role.admin))]`."""

    def check(user: CurrentUser) -> User:
        if Role(user.role) not in roles:
            raise _forbidden(roles)
        return user

    return check


def require_principal(*roles: Role) -> Callable[[Principal], Principal]:
    """Like require_roles, but the service token counts as Role.service."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise _forbidden(roles)
        return principal

    return check


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
