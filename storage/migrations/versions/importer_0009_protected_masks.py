"""protected mask digests stored once each: ``protected_masks`` (prefix, rest, kind, subjects)

A mask-form digest (every form but ``full``: ``010*1234``, ``ab*@naver.com``) is shared by many
subjects, so one row per (digest, subject) made mask forms most of the set's rows and most of an
import's time. The mask digests move to ``protected_masks``: one row per digest, keyed by
(prefix, rest, kind), with its subjects as one blob of sorted distinct big-endian signed 64-bit ids.
Full-form digests stay in ``protected_identifiers``. Kind counts (``protected_kinds.digests``) still
count (digest, subject) pairs, so ``protect stats`` and ``protected_sets`` do not change.
Existing digests are carried over both ways, unchanged.

Revision ID: importer_0009_protected_masks
Revises: import_0008_lean_protected
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "importer_0009_protected_masks"
down_revision: str | Sequence[str] | None = "import_0008_lean_protected"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 50_000


def _mask_kinds(bind: sa.Connection) -> list[int]:
    return [int(k) for k in bind.execute(sa.text("SELECT kind FROM protected_kinds WHERE form <> 'full'")).scalars()]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "protected_masks",
        sa.Column("prefix", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rest", sa.LargeBinary(length=24), nullable=False),
        sa.Column("kind", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("subjects", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "rest", "kind", name="pk_protected_masks"),
        sqlite_with_rowid=False,
    )
    kinds = _mask_kinds(bind)
    if not kinds:
        return
    listed = ",".join(str(k) for k in kinds)
    read = sa.text(
        "SELECT prefix, rest, kind, subject_id FROM protected_identifiers "  # noqa: S608 - integers only
        f"WHERE kind IN ({listed}) ORDER BY prefix, rest, kind, subject_id"
    )
    write = sa.text(
        "INSERT INTO protected_masks (prefix, rest, kind, subjects) VALUES (:prefix, :rest, :kind, :subjects)"
    )
    groups: list[dict[str, object]] = []
    key: tuple[int, bytes, int] | None = None
    ids: list[int] = []

    def close() -> None:
        if key is not None:
            groups.append(
                {
                    "prefix": key[0],
                    "rest": key[1],
                    "kind": key[2],
                    "subjects": b"".join(i.to_bytes(8, "big", signed=True) for i in ids),
                }
            )

    # Groups are written as the ordered read goes (a batch of finished groups at a time): memory holds
    # one partition of rows and the groups closed since the last write.
    rows = bind.execute(read.execution_options(stream_results=True))
    for part in rows.partitions(BATCH):
        for prefix, rest, kind, subject_id in part:
            this = (int(prefix), bytes(rest), int(kind))
            if this != key:
                close()
                key, ids = this, []
            ids.append(int(subject_id))
        if groups:
            bind.execute(write, groups)
            groups.clear()
    close()
    if groups:
        bind.execute(write, groups)
    bind.execute(sa.text(f"DELETE FROM protected_identifiers WHERE kind IN ({listed})"))  # noqa: S608


def downgrade() -> None:
    bind = op.get_bind()
    read = sa.text(
        "SELECT prefix, rest, kind, subjects FROM protected_masks "
        "WHERE (prefix, rest, kind) > (:prefix, :rest, :kind) ORDER BY prefix, rest, kind LIMIT :n"
    )
    write = sa.text(
        "INSERT INTO protected_identifiers (prefix, subject_id, rest, kind) VALUES (:prefix, :subject_id, :rest, :kind)"
    )
    after: dict[str, object] = {"prefix": -(1 << 63), "rest": b"", "kind": -1}
    while masks := bind.execute(read, {**after, "n": 1000}).all():
        prefix, rest, kind, _ = masks[-1]
        after = {"prefix": prefix, "rest": bytes(rest), "kind": kind}
        out: list[dict[str, object]] = []
        for prefix, rest, kind, subjects in masks:
            blob = bytes(subjects)
            for at in range(0, len(blob), 8):
                out.append(
                    {
                        "prefix": prefix,
                        "subject_id": int.from_bytes(blob[at : at + 8], "big", signed=True),
                        "rest": bytes(rest),
                        "kind": kind,
                    }
                )
                if len(out) >= BATCH:
                    bind.execute(write, out)
                    out = []
        if out:
            bind.execute(write, out)
    op.drop_table("protected_masks")
