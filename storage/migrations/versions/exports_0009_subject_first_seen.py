"""subject_first_seen: each subject's first sighting per source and per identifier type

The console's "new subjects per day" grouped every hit by subject at each drawing (a scan of all
hits, about 5 s of CPU per grouping at a million hits on SQLite). The store now folds each post's
new hits into this table (one set-based upsert, ``storage.repositories.first_seen``); the chart
reads it. Filled here from the hits already stored. No foreign key (its per-row check would tax the
mass-breach store): a trigger on ``subjects`` deletes a subject's rows with it (row-level on
SQLite, statement-level with a transition table on PostgreSQL, as ``store_0008`` does for hits).
Downgrade drops the table: it holds nothing the hits do not.

Revision ID: exports_0009_subject_first_seen
Revises: store_0008_hits_pg_parents
Create Date: 2026-12-07 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "exports_0009_subject_first_seen"
down_revision: str | Sequence[str] | None = "store_0008_hits_pg_parents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FILL = (
    "INSERT INTO subject_first_seen (subject_id, kind, key, first_seen) "
    "SELECT subject_id, 0, source, min(first_seen) FROM hits WHERE subject_id IS NOT NULL GROUP BY subject_id, source "
    "UNION ALL "
    "SELECT subject_id, 1, id_type, min(first_seen) FROM hits WHERE subject_id IS NOT NULL GROUP BY subject_id, id_type"
)
_SQLITE_UP = [
    """CREATE TRIGGER subjects_delete_first_seen AFTER DELETE ON subjects
BEGIN DELETE FROM subject_first_seen WHERE subject_id = OLD.id; END""",
]
_PG_UP = [
    """CREATE FUNCTION first_seen_follow_deleted_subjects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM subject_first_seen WHERE subject_id IN (SELECT id FROM gone); RETURN NULL; END $$""",
    """CREATE TRIGGER subjects_delete_first_seen AFTER DELETE ON subjects REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION first_seen_follow_deleted_subjects()""",
]
_SQLITE_DOWN = ["DROP TRIGGER IF EXISTS subjects_delete_first_seen"]
_PG_DOWN = [
    "DROP TRIGGER IF EXISTS subjects_delete_first_seen ON subjects",
    "DROP FUNCTION IF EXISTS first_seen_follow_deleted_subjects()",
]


def upgrade() -> None:
    op.create_table(
        "subject_first_seen",
        sa.Column("subject_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("first_seen", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", "kind", "key", name=op.f("pk_subject_first_seen")),
        sqlite_with_rowid=False,
    )
    op.execute(_FILL)
    for statement in _PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _PG_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)
    op.drop_table("subject_first_seen")
