"""protected set stored lean: (prefix, subject_id, rest, kind) rows keyed by (prefix, subject_id, rest)

The 32-byte digest is split into its first 8 bytes as a signed big-endian 64-bit integer (``prefix``)
and the other 24 bytes (``rest``). ``subject_id`` loses its foreign key (the bulk loader, the set's
only writer, stores only subject ids it resolved in the same transaction; subjects are never
deleted). Key id, type and form move to ``protected_kinds`` (a small number per row, with exact
digest counts). SQLite keeps the set ``WITHOUT ROWID`` (the primary key is the table).
``protected_sets`` keeps a digest count per key instead of the top row id (rows have no id).
Existing digests are carried over both ways, unchanged.

Revision ID: import_0008_lean_protected
Revises: kernel2_0006_protected_sets
Create Date: 2026-12-07 12:30:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "import_0008_lean_protected"
down_revision: str | Sequence[str] | None = "kernel2_0006_protected_sets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 50_000
SUBJECT_FK = "fk_protected_identifiers_subject_id_subjects"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "protected_kinds",
        sa.Column("kind", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("digests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name="pk_protected_kinds"),
        sa.UniqueConstraint("key_id", "id_type", "form", name="uq_protected_kinds_key_id"),
    )
    kinds: dict[tuple[str, str, str], int] = {}
    counts = bind.execute(
        sa.text(
            "SELECT key_id, id_type, form, count(*) FROM protected_identifiers GROUP BY key_id, id_type, form "
            "ORDER BY key_id, id_type, form"
        )
    ).all()
    for number, (key_id, id_type, form, n) in enumerate(counts, start=1):
        kinds[(key_id, id_type, form)] = number
        bind.execute(
            sa.text("INSERT INTO protected_kinds VALUES (:kind, :key_id, :id_type, :form, :n)"),
            {"kind": number, "key_id": key_id, "id_type": id_type, "form": form, "n": n},
        )
    constraints: list[sa.schema.SchemaItem] = []
    if _sqlite():  # SQLite cannot add a primary key later; the new table keeps the final name
        constraints = [sa.PrimaryKeyConstraint("prefix", "subject_id", "rest", name="pk_protected_identifiers")]
    op.create_table(
        "protected_identifiers_lean",
        sa.Column("prefix", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rest", sa.LargeBinary(length=24), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        *constraints,
        sqlite_with_rowid=False,
    )
    last = 0
    read = sa.text(
        "SELECT id, key_id, id_type, form, digest, subject_id FROM protected_identifiers WHERE id > :last "
        "ORDER BY id LIMIT :n"
    )
    write = sa.text("INSERT INTO protected_identifiers_lean VALUES (:prefix, :subject_id, :rest, :kind)")
    while rows := bind.execute(read, {"last": last, "n": BATCH}).all():
        last = rows[-1][0]
        bind.execute(
            write,
            [
                {
                    "prefix": int.from_bytes(bytes(digest)[:8], "big", signed=True),
                    "subject_id": subject_id,
                    "rest": bytes(digest)[8:],
                    "kind": kinds[(key_id, id_type, form)],
                }
                for _, key_id, id_type, form, digest, subject_id in rows
            ],
        )
    op.drop_table("protected_identifiers")
    op.rename_table("protected_identifiers_lean", "protected_identifiers")
    if not _sqlite():
        op.create_primary_key("pk_protected_identifiers", "protected_identifiers", ["prefix", "subject_id", "rest"])
    _summary(upgrade=True)


def _summary(*, upgrade: bool) -> None:
    """Recreate ``protected_sets`` in the layout of the target revision, filled from the set."""
    op.drop_table("protected_sets")
    op.create_table(
        "protected_sets",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("digests" if upgrade else "top_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_protected_sets"),
    )
    fill = (
        "INSERT INTO protected_sets (key_id, version, digests) SELECT key_id, :version, sum(digests) "
        "FROM protected_kinds GROUP BY key_id"
        if upgrade
        else "INSERT INTO protected_sets (key_id, version, top_id) SELECT key_id, :version, "
        "(SELECT max(id) FROM protected_identifiers) FROM protected_identifiers GROUP BY key_id"
    )
    op.get_bind().execute(sa.text(fill), {"version": secrets.token_hex(16)})


def downgrade() -> None:
    bind = op.get_bind()
    constraints: list[sa.schema.SchemaItem] = [sa.PrimaryKeyConstraint("id", name="pk_protected_identifiers_wide")]
    if _sqlite():  # constraint names are per table on SQLite: the final ones at once
        constraints = [
            sa.PrimaryKeyConstraint("id", name="pk_protected_identifiers"),
            sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=SUBJECT_FK, ondelete="CASCADE"),
        ]
    op.create_table(
        "protected_identifiers_wide",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        *constraints,
    )
    kinds = {
        kind: (key_id, id_type, form)
        for kind, key_id, id_type, form in bind.execute(
            sa.text("SELECT kind, key_id, id_type, form FROM protected_kinds")
        )
    }
    read = sa.text(
        "SELECT prefix, subject_id, rest, kind FROM protected_identifiers "
        "WHERE (prefix, subject_id, rest) > (:prefix, :subject, :rest) "
        "ORDER BY prefix, subject_id, rest LIMIT :n"
    )
    write = sa.text(
        "INSERT INTO protected_identifiers_wide (key_id, id_type, form, digest, subject_id) "
        "VALUES (:key_id, :id_type, :form, :digest, :subject_id)"
    )
    after = {"prefix": -(1 << 63), "subject": -1, "rest": b""}
    while rows := bind.execute(read, {**after, "n": BATCH}).all():
        prefix, subject, rest, _ = rows[-1]
        after = {"prefix": prefix, "subject": subject, "rest": bytes(rest)}
        bind.execute(
            write,
            [
                dict(
                    zip(("key_id", "id_type", "form"), kinds[kind], strict=True),
                    digest=int(prefix).to_bytes(8, "big", signed=True) + bytes(rest),
                    subject_id=subject_id,
                )
                for prefix, subject_id, rest, kind in rows
            ],
        )
    op.drop_table("protected_identifiers")
    op.rename_table("protected_identifiers_wide", "protected_identifiers")
    if not _sqlite():
        op.execute(
            "ALTER TABLE protected_identifiers RENAME CONSTRAINT pk_protected_identifiers_wide "
            "TO pk_protected_identifiers"
        )
        op.execute("ALTER SEQUENCE protected_identifiers_wide_id_seq RENAME TO protected_identifiers_id_seq")
        op.create_foreign_key(
            SUBJECT_FK, "protected_identifiers", "subjects", ["subject_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("ux_protected_identity", "protected_identifiers", ["digest", "subject_id"], unique=True)
    _summary(upgrade=False)
    op.drop_table("protected_kinds")
