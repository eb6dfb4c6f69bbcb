"""Machine-to-machine authentication: the action server and the voice gateway hold a service token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.core.settings import get_settings

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def is_service_token(token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(token.encode(), get_settings().service_token.encode())


def bearer_is_service(credentials: BearerDep) -> bool:
    return credentials is not None and is_service_token(credentials.credentials)


def require_service(credentials: BearerDep) -> None:
    if not (credentials is not None and is_service_token(credentials.credentials)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="需要服务令牌（Authorization: Bearer <MINSHENG_SERVICE_TOKEN>）",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceDep = Annotated[None, Depends(require_service)]
IsServiceDep = Annotated[bool, Depends(bearer_is_service)]
