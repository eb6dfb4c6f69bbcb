"""Staff accounts: authentication, creation by an admin, the first admin from settings."""

from __future__ import annotations

import logging

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.models import Role, User
from api.auth.schemas import UserIn, UserPatch
from api.auth.security import hash_password, verify_password
from api.core.settings import get_settings
from api.org import service as org
from api.org.models import Leader

log = logging.getLogger(__name__)
# A fixed hash so that unknown usernames cost as much as wrong passwords (no user enumeration by timing).
_DUMMY_HASH = hash_password("not-a-real-password")


def get_by_username(*, db_session: Session, username: str) -> User | None:
    return db_session.scalar(select(User).where(User.username == username))


def authenticate(*, db_session: Session, username: str, password: str) -> User | None:
    user = get_by_username(db_session=db_session, username=username)
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or not user.active:
        return None
    return user


def create_user(*, db_session: Session, user_in: UserIn, actor: str) -> User:
    department_id = None
    if user_in.role == Role.service:
        raise HTTPException(422, detail="service 是机器令牌的角色，不能分配给人员账号。")
    if user_in.role == Role.handler:
        if not user_in.department_id:
            raise HTTPException(422, detail="承办人账号必须指定所属承办单位（department_id）。")
        dept = org.resolve_department(db_session=db_session, ref=user_in.department_id)
        if dept is None or not dept.active:
            raise HTTPException(422, detail=f"没有这个承办单位：{user_in.department_id}")
        department_id = dept.id
    leader_id = None
    if user_in.role == Role.leader:
        leader = db_session.get(Leader, user_in.leader_id or "")
        if leader is None or not leader.active:
            raise HTTPException(422, detail="分管领导账号必须指定 leaders.yml 中存在的 leader_id。")
        leader_id = leader.id
    user = User(
        username=user_in.username, full_name=user_in.full_name, password_hash=hash_password(user_in.password),
        role=user_in.role, department_id=department_id, leader_id=leader_id, created_by=actor,
        sip_uri=user_in.sip_uri,
    )
    db_session.add(user)
    try:
        db_session.commit()
    except IntegrityError:
        db_session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"用户名 {user_in.username} 已被使用。") from None
    log.info("user %s (%s) created by %s", user.username, user.role, actor)
    return user


def update_user(*, db_session: Session, username: str, patch: UserPatch) -> User:
    user = get_by_username(db_session=db_session, username=username)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"没有用户 {username}。")
    if patch.active is not None:
        if user.active and not patch.active:
            revoke_tokens(user)
        user.active = patch.active
    if patch.password:
        user.password_hash = hash_password(patch.password)
        revoke_tokens(user)
    if patch.full_name is not None:
        user.full_name = patch.full_name
    if patch.sip_uri is not None:
        user.sip_uri = patch.sip_uri or None
    db_session.commit()
    return user


def revoke_tokens(user: User) -> None:
    """Every access and refresh token issued to this user so far stops working (the caller commits)."""
    user.token_version = (user.token_version or 0) + 1


def change_own_password(*, db_session: Session, user: User, current_password: str, new_password: str) -> User:
    if not verify_password(current_password, user.password_hash):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="原密码不正确。")
    user.password_hash = hash_password(new_password)
    revoke_tokens(user)
    db_session.commit()
    log.info("user %s changed their password; earlier tokens revoked", user.username)
    return user


def list_users(*, db_session: Session) -> list[User]:
    return list(db_session.scalars(select(User).order_by(User.id)))


def ensure_first_admin(*, db_session: Session) -> bool:
    """Create the first admin from settings when no admin exists yet. Returns True when created."""
    if db_session.scalar(select(User.id).where(User.role == Role.admin).limit(1)) is not None:
        return False
    settings = get_settings()
    if get_by_username(db_session=db_session, username=settings.first_admin_username) is not None:
        return False
    db_session.add(User(
        username=settings.first_admin_username, full_name="管理员", role=Role.admin,
        password_hash=hash_password(settings.first_admin_password), created_by="settings",
    ))
    try:
        db_session.commit()
    except IntegrityError:  # another worker created it at the same moment
        db_session.rollback()
        return False
    return True
