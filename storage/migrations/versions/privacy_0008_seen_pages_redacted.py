"""seen_pages.redacted: the row's URL, links and post ids follow the redaction rule

Rows written before (false) may hold raw URLs of leak sites (``?phone=...``, e-mails in paths);
``leakmon purge --redact-stored`` rewrites them and sets the flag. Rows the crawler writes from
now on are born redacted.

Revision ID: privacy_0008_seen_pages_redacted
Revises: 0002_crawl
Create Date: 2026-12-07 12:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0008_seen_pages_redacted"
down_revision: str | Sequence[str] | None = "0002_crawl"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seen_pages") as batch:
        batch.add_column(sa.Column("redacted", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("seen_pages") as batch:
        batch.drop_column("redacted")
