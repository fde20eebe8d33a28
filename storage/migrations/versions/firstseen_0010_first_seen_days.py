"""subject_first_seen: one row per subject and day (the sources and types first seen that day)

``exports_0009`` kept one row per subject and source and one per subject and identifier type: five
rows a subject of a mass-breach dump, most of the post hook's cost on PostgreSQL (the upsert,
2.6-3.0 s per 500k rows). The table now holds one row per subject and UTC day on which something
was first seen, with the sources and types of that day as JSON arrays (a first mass breach: one row
a subject). The chart counts per day, so the day is all it ever read of a first sighting's time.

Upgrade moves every existing row: grouped by subject and the UTC day of its ``first_seen``, each
(subject, source) and (subject, type) lands in exactly one new row, that of its day. Downgrade
moves them back, each sighting at midnight UTC of its day (the time of day is not kept; the chart
never read it). The trigger that deletes a subject's rows with it is kept (on SQLite it is
recreated, since renaming the table would rewrite its body to the old table's new name).

Revision ID: firstseen_0010_first_seen_days
Revises: store_0010_hits_identity_key
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "firstseen_0010_first_seen_days"
down_revision: str | Sequence[str] | None = "store_0010_hits_identity_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "subject_first_seen_0009"
_NEW = "subject_first_seen_0010"
_TRIGGER_SQLITE = """CREATE TRIGGER subjects_delete_first_seen AFTER DELETE ON subjects
BEGIN DELETE FROM subject_first_seen WHERE subject_id = OLD.id; END"""

_FILL_DAYS = {
    "sqlite": (
        "INSERT INTO subject_first_seen (subject_id, day, sources, types) "  # noqa: S608 - fixed names
        "SELECT subject_id, day, json_group_array(key) FILTER (WHERE kind = 0), "
        "json_group_array(key) FILTER (WHERE kind = 1) FROM ("
        f"SELECT subject_id, date(first_seen) AS day, kind, key FROM {_OLD} ORDER BY subject_id, day, kind, key"
        ") GROUP BY subject_id, day"
    ),
    "postgresql": (
        "INSERT INTO subject_first_seen (subject_id, day, sources, types) "  # noqa: S608 - fixed names
        "SELECT subject_id, (first_seen AT TIME ZONE 'UTC')::date, "
        "coalesce(json_agg(key ORDER BY key) FILTER (WHERE kind = 0), '[]')::text, "
        "coalesce(json_agg(key ORDER BY key) FILTER (WHERE kind = 1), '[]')::text "
        f"FROM {_OLD} GROUP BY subject_id, (first_seen AT TIME ZONE 'UTC')::date"
    ),
}
_FILL_KEYS = {
    "sqlite": (
        "INSERT INTO subject_first_seen (subject_id, kind, key, first_seen) "  # noqa: S608 - fixed names
        f"SELECT f.subject_id, 0, j.value, f.day || ' 00:00:00.000000' FROM {_NEW} AS f, "
        "json_each(f.sources) AS j "
        f"UNION ALL SELECT f.subject_id, 1, j.value, f.day || ' 00:00:00.000000' FROM {_NEW} AS f, "
        "json_each(f.types) AS j"
    ),
    "postgresql": (
        "INSERT INTO subject_first_seen (subject_id, kind, key, first_seen) "  # noqa: S608 - fixed names
        f"SELECT f.subject_id, 0, j, f.day::timestamp AT TIME ZONE 'UTC' FROM {_NEW} AS f, "
        "json_array_elements_text(f.sources::json) AS j "
        f"UNION ALL SELECT f.subject_id, 1, j, f.day::timestamp AT TIME ZONE 'UTC' FROM {_NEW} AS f, "
        "json_array_elements_text(f.types::json) AS j"
    ),
}


def _rename_current(to: str) -> None:
    """Move the current table aside (its primary key's name too: PostgreSQL's are schema-wide)."""
    op.execute(f"ALTER TABLE subject_first_seen RENAME TO {to}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {to} RENAME CONSTRAINT pk_subject_first_seen TO pk_{to}")


def _swap(to: str) -> str:
    """Move the current table aside as ``to``; returns the dialect's name."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS subjects_delete_first_seen")
    _rename_current(to)
    return dialect


def upgrade() -> None:
    dialect = _swap(_OLD)
    op.create_table(
        "subject_first_seen",
        sa.Column("subject_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", "day", name=op.f("pk_subject_first_seen")),
        sqlite_with_rowid=False,
    )
    op.execute(_FILL_DAYS[dialect])
    op.execute(f"DROP TABLE {_OLD}")
    if dialect == "sqlite":
        op.execute(_TRIGGER_SQLITE)


def downgrade() -> None:
    dialect = _swap(_NEW)
    op.create_table(
        "subject_first_seen",
        sa.Column("subject_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("first_seen", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", "kind", "key", name=op.f("pk_subject_first_seen")),
        sqlite_with_rowid=False,
    )
    op.execute(_FILL_KEYS[dialect])
    op.execute(f"DROP TABLE {_NEW}")
    if dialect == "sqlite":
        op.execute(_TRIGGER_SQLITE)
