"""protected set summary: key ids, version token and top row id, read at start-up

Revision ID: kernel2_0006_protected_sets
Revises: 0001_core
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kernel2_0006_protected_sets"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protected_sets",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("top_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_protected_sets")),
    )
    # Backfill from the set as it is (one scan, once): every key id, under one fresh version.
    op.get_bind().execute(
        sa.text(
            "INSERT INTO protected_sets (key_id, version, top_id) SELECT key_id, :version, "
            "(SELECT max(id) FROM protected_identifiers) FROM protected_identifiers GROUP BY key_id"
        ),
        {"version": secrets.token_hex(16)},
    )


def downgrade() -> None:
    op.drop_table("protected_sets")
