"""Console accounts and their server-side sessions (``leakmon users``, ``leakmon web``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigIntPK, UTCDateTime, intpk, str16, str64, utc


class WebUser(Base):
    """A local console account: a role and an argon2 password hash (never the password)."""

    __tablename__ = "web_users"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str16]
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[utc]
    updated_at: Mapped[utc]
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser: the SHA-256 of its cookie token (never the token), its CSRF token, expiry."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str64] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str64]
    created_at: Mapped[utc]
    expires_at: Mapped[utc]
