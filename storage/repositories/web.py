"""Queries for console accounts and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models.web import WebSession, WebUser


def find_user(session: Session, name: str) -> WebUser | None:
    return session.scalars(select(WebUser).where(WebUser.name == name)).one_or_none()


def list_users(session: Session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.name)))


def add_user(session: Session, name: str, role: str, password_hash: str, at: datetime) -> WebUser:
    user = WebUser(name=name, role=role, password_hash=password_hash, disabled=False, created_at=at, updated_at=at)
    session.add(user)
    session.flush()
    return user


def add_session(session: Session, user: WebUser, token_hash: str, csrf: str, at: datetime, expires: datetime) -> None:
    session.add(WebSession(token_hash=token_hash, user_id=user.id, csrf=csrf, created_at=at, expires_at=expires))
    session.flush()


def live_session(session: Session, token_hash: str, now: datetime) -> tuple[WebSession, WebUser] | None:
    """The unexpired session with this token hash and its enabled user, or None."""
    row = session.execute(
        select(WebSession, WebUser)
        .join(WebUser, WebUser.id == WebSession.user_id)
        .where(WebSession.token_hash == token_hash, WebSession.expires_at > now, WebUser.disabled.is_(False))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


def end_user_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def purge_expired(session: Session, now: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
