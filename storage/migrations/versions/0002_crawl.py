"""crawl state: seen_pages

Revision ID: 0002_crawl
Revises: 0001_core
Create Date: 2026-11-23 18:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0002_crawl"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("crawl",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_pages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("post_ids", sa.JSON(), nullable=False),
        sa.Column("first_seen", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_changed", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_pages")),
        sa.UniqueConstraint("source", "url_hash", name=op.f("uq_seen_pages_source_url_hash")),
    )


def downgrade() -> None:
    op.drop_table("seen_pages")
