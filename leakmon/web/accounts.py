"""Console accounts: roles, argon2 password hashes, sign-in and server-side sessions."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from leakmon.errors import InputError, NotFoundError
from storage.models.web import WebUser
from storage.repositories import web as repo

#: Each role can do everything the roles before it can.
ROLES = ("viewer", "analyst", "responder", "admin")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()


def role_rank(role: str) -> int:
    return ROLES.index(role)


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return role in ROLES and role_rank(role) >= role_rank(needed)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must be at least {MIN_PASSWORD} characters long")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def add_user(session: Session, name: str, role: str, password: str) -> WebUser:
    if not NAME_PATTERN.fullmatch(name):
        raise InputError("a user name is 1-64 letters, digits, '.', '_' or '-'")
    if repo.find_user(session, name) is not None:
        raise InputError(f"user {name} already exists")
    return repo.add_user(session, name, check_role(role), hash_password(check_password(password)), datetime.now(UTC))


def get_user(session: Session, name: str) -> WebUser:
    user = repo.find_user(session, name)
    if user is None:
        raise NotFoundError(f"user {name} does not exist")
    return user


def set_disabled(session: Session, name: str, disabled: bool = True) -> WebUser:
    """Disable (or enable) an account; a disabled account's sessions end at once."""
    user = get_user(session, name)
    user.disabled = disabled
    user.updated_at = datetime.now(UTC)
    if disabled:
        repo.end_user_sessions(session, user.id)
    return user


def set_password(session: Session, name: str, password: str) -> WebUser:
    """A new password; every session of the account ends."""
    user = get_user(session, name)
    user.password_hash = hash_password(check_password(password))
    user.updated_at = datetime.now(UTC)
    repo.end_user_sessions(session, user.id)
    return user


def authenticate(session: Session, name: str, password: str) -> WebUser | None:
    """The enabled user with this name and password, else None (same work either way)."""
    user = repo.find_user(session, name)
    stored = user.password_hash if user is not None else dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _HASHER.check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user


@functools.cache
def dummy_hash() -> str:
    """What an unknown name's password is checked against (same work as a real user's); made on first
    use, not at import: argon2 costs every CLI command 0.35 s otherwise. The console makes it at start."""
    return _HASHER.hash(secrets.token_hex(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Signed:
    """Who is signed in: the user's name and role, the session's CSRF token."""

    name: str
    role: str
    csrf: str
    token_hash: str


def start_session(session: Session, user: WebUser, lifetime: timedelta) -> tuple[str, str]:
    """A new session for ``user``: returns (cookie token, CSRF token)."""
    now = datetime.now(UTC)
    repo.purge_expired(session, now)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    repo.add_session(session, user, token_hash(token), csrf, now, now + lifetime)
    return token, csrf


def resume_session(session: Session, token: str) -> Signed | None:
    found = repo.live_session(session, token_hash(token), datetime.now(UTC))
    if found is None:
        return None
    web_session, user = found
    return Signed(user.name, user.role, web_session.csrf, web_session.token_hash)


def end_session(session: Session, token: str) -> None:
    repo.end_session(session, token_hash(token))
