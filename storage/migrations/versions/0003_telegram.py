"""telegram reader tables

Revision ID: 0003_telegram
Revises: 0001_core
Create Date: 2026-11-23 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0003_telegram"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("telegram",)
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "telegram_chats",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ref", sa.String(length=1024), nullable=False),
        sa.Column("marked_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("access_hash", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=1024), nullable=True),
        sa.Column("invite_state", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_before", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retry_reason", sa.Text(), nullable=True),
        sa.Column("last_run_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_chats")),
        sa.UniqueConstraint("name", name=op.f("uq_telegram_chats_name")),
    )
    with op.batch_alter_table("telegram_chats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_chats_marked_id"), ["marked_id"], unique=False)

    op.create_table(
        "telegram_deletions",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("marked_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_deletions")),
        sa.UniqueConstraint("marked_id", "message_id", name=op.f("uq_telegram_deletions_marked_id_message_id")),
    )


def downgrade() -> None:
    op.drop_table("telegram_deletions")
    with op.batch_alter_table("telegram_chats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_chats_marked_id"))
    op.drop_table("telegram_chats")
