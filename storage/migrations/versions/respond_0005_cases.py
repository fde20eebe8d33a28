"""cases: alert retries (attempts, next attempt) and suppression rules kept by subject and type

Revision ID: respond_0005_cases
Revises: 0004_cases
Create Date: 2026-12-07 06:30:00

Suppression rules used to be matched by keyed digest only, so a key rotation silently disabled
them. A rule now names the subject (when the hit had one) and keeps the masked value it was made
from; existing rules take both from the hit they were made from.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "respond_0005_cases"
down_revision: str | Sequence[str] | None = "0004_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", storage.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("suppression_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("masked", sa.String(length=255), nullable=False, server_default=""))
        batch_op.create_foreign_key(
            batch_op.f("fk_suppression_rules_subject_id_subjects"),
            "subjects",
            ["subject_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_suppression_rules_subject_id"), ["subject_id"], unique=False)
    op.execute("UPDATE alert_log SET attempts = 1 WHERE status = 'failed'")
    op.execute(
        "UPDATE suppression_rules SET "
        "subject_id = (SELECT h.subject_id FROM hits h WHERE h.id = suppression_rules.from_hit_id), "
        "masked = COALESCE((SELECT h.masked FROM hits h WHERE h.id = suppression_rules.from_hit_id), '')"
    )


def downgrade() -> None:
    with op.batch_alter_table("suppression_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_rules_subject_id"))
        batch_op.drop_constraint(batch_op.f("fk_suppression_rules_subject_id_subjects"), type_="foreignkey")
        batch_op.drop_column("masked")
        batch_op.drop_column("subject_id")
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
