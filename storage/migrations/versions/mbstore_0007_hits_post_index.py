"""hits: drop ix_hits_post_id (the identity's unique index starts with post_id and serves every look-up)

Every upserted hit paid for a second B-tree; at 100M hits it is about 2 GB of PostgreSQL index.

Revision ID: mbstore_0007_hits_post_index
Revises: 0001_core
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "mbstore_0007_hits_post_index"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_hits_post_id", table_name="hits")


def downgrade() -> None:
    op.create_index("ix_hits_post_id", "hits", ["post_id"])
