"""hits: the identity is enforced by a 64-bit key, unique on (post_id, identity_key)

The five-column identity index (post, type, form, 32-byte digest, subject) was about half of
SQLite's insert cost and a quarter of PostgreSQL's ``COPY`` into ``hits``. Each hit now carries
``identity_key``, BLAKE2b of its identity cut to 63 bits (``storage.models.core.identity_key``),
and the unique index is on (post_id, identity_key). Two identities of one post whose keys collide
are both kept: the later one gets a negative key of its post, and the store finds such hits by
their whole identity (``storage.repositories.hits``). Filled here from the hits already stored
(colliding ones, if any, the same way: the lowest id keeps the key).

SQLite cannot drop a table's ``UNIQUE`` constraint without rebuilding the table, which the views
reading ``hits``, the three tables whose foreign keys point at it and the single transaction the
migrations run in (``PRAGMA foreign_keys`` cannot be turned off inside one) all stand against. The
constraint's text is taken out of the table's schema instead and its automatic index renamed to an
ordinary index of the same columns, which is then dropped (``PRAGMA writable_schema``, the schema
cookie incremented, as SQLite's documentation describes for schema changes that leave the stored
rows as they are); ``PRAGMA integrity_check`` is run on the table after.

Revision ID: store_0010_hits_identity_key
Revises: exports_0009_subject_first_seen
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.models.core import identity_key

revision: str = "store_0010_hits_identity_key"
down_revision: str | Sequence[str] | None = "exports_0009_subject_first_seen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "uq_hits_post_id_id_type_form_digest_subject_slot"
NEW = "uq_hits_post_id_identity_key"
CHUNK = 50_000
_IDENTITY = "post_id, id_type, form, digest, subject_slot"


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    # SQLite adds a NOT NULL column only with a default; it is taken out of the schema below.
    op.execute(f"ALTER TABLE hits ADD COLUMN identity_key {'bigint' if pg else 'BIGINT NOT NULL DEFAULT 0'}")
    _fill(bind, pg)
    _separate_collisions(bind)
    op.execute(f"CREATE UNIQUE INDEX {NEW} ON hits (post_id, identity_key)")
    if pg:
        op.execute("ALTER TABLE hits ALTER COLUMN identity_key SET NOT NULL")
        op.execute(f"ALTER TABLE hits DROP CONSTRAINT {OLD}")
    else:
        _sqlite_drop_unique(bind)


def _fill(bind: Connection, pg: bool) -> None:
    """Every stored hit's key, computed here (neither database has BLAKE2b), a chunk of ids at a time."""
    after = 0
    while True:
        rows = bind.execute(
            text("SELECT id, id_type, form, digest, subject_slot FROM hits WHERE id > :after ORDER BY id LIMIT :n"),
            {"after": after, "n": CHUNK},
        ).all()
        if not rows:
            return
        keys = [(int(i), identity_key(t, f, bytes(d), int(s))) for i, t, f, d, s in rows]
        if pg:
            bind.execute(
                text(
                    "UPDATE hits SET identity_key = v.k FROM unnest(CAST(:ids AS bigint[]), CAST(:keys AS bigint[]))"
                    " AS v(id, k) WHERE hits.id = v.id"
                ),
                {"ids": _array(i for i, _ in keys), "keys": _array(k for _, k in keys)},
            )
        else:
            bind.exec_driver_sql("UPDATE hits SET identity_key = ? WHERE id = ?", [(k, i) for i, k in keys])
        after = keys[-1][0]


def _array(values: Iterable[int]) -> str:
    """A ``bigint[]`` literal's text."""
    return "{" + ",".join(map(str, values)) + "}"


def _separate_collisions(bind: Connection) -> None:
    """Hits of one post whose identities share a key: all but the lowest id take a negative key."""
    shared = bind.execute(
        text("SELECT post_id, identity_key FROM hits GROUP BY post_id, identity_key HAVING count(*) > 1")
    ).all()
    for post_id, key in shared:
        ids = bind.scalars(
            text("SELECT id FROM hits WHERE post_id = :p AND identity_key = :k ORDER BY id"), {"p": post_id, "k": key}
        ).all()
        for hit_id in ids[1:]:
            lowest = bind.scalar(
                text("SELECT coalesce(min(identity_key), 0) FROM hits WHERE post_id = :p AND identity_key < 0"),
                {"p": post_id},
            )
            bind.execute(
                text("UPDATE hits SET identity_key = :k WHERE id = :id"), {"k": int(lowest or 0) - 1, "id": hit_id}
            )


def _sqlite_drop_unique(bind: Connection) -> None:
    """Take the identity's ``UNIQUE`` constraint and the key's default out of ``hits`` without
    rebuilding the table (after this migration's downgrade the identity is an ordinary index)."""
    automatic = [row[1] for row in bind.exec_driver_sql("PRAGMA index_list(hits)") if row[3] == "u"]
    table_sql = bind.exec_driver_sql("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'hits'").scalar()
    new_sql, found = re.subn(rf",\s*CONSTRAINT {OLD} UNIQUE \([^)]*\)", "", str(table_sql))
    new_sql, defaults = re.subn(r"identity_key BIGINT NOT NULL DEFAULT 0", "identity_key BIGINT NOT NULL", new_sql)
    if (found, defaults) != (len(automatic), 1) or found > 1:
        raise RuntimeError("the hits table's schema is not the one this migration expects")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'hits'", (new_sql,))
        if automatic:  # the constraint's index becomes an ordinary one of the same columns, dropped below
            bind.exec_driver_sql(
                "UPDATE sqlite_schema SET name = ?, sql = ? WHERE type = 'index' AND name = ?",
                (OLD, f"CREATE UNIQUE INDEX {OLD} ON hits ({_IDENTITY})", automatic[0]),
            )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    bind.exec_driver_sql(f"DROP INDEX {OLD}")
    problems = bind.exec_driver_sql("PRAGMA integrity_check(hits)").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"hits after dropping its identity constraint: {problems[:5]}")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute(f"ALTER TABLE hits ADD CONSTRAINT {OLD} UNIQUE ({_IDENTITY})")
    else:  # an index where 0001 made a table constraint: ON CONFLICT and uniqueness are the same
        op.execute(f"CREATE UNIQUE INDEX {OLD} ON hits ({_IDENTITY})")
    op.execute(f"DROP INDEX {NEW}")
    op.execute("ALTER TABLE hits DROP COLUMN identity_key")
