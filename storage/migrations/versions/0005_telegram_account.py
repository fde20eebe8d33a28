"""telegram_chats.account_id: the account that resolved a chat (access hashes are per account)

Revision ID: telegram_0005_account
Revises: 0003_telegram
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "telegram_0005_account"
down_revision: str | Sequence[str] | None = "0003_telegram"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_chats") as batch:
        batch.add_column(sa.Column("account_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telegram_chats") as batch:
        batch.drop_column("account_id")
