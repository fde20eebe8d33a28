"""hits on PostgreSQL: the two foreign keys become set-based checks and delete triggers

The per-row foreign-key triggers were 41 % of the server's CPU storing hits (an SPI query per row
per key). On PostgreSQL the store now checks its parents once per batch (the post once per call,
the batch's distinct subjects in one statement, both locked ``FOR KEY SHARE`` as the foreign keys
did), and statement-level triggers on ``posts`` and ``subjects`` keep what ``ON DELETE CASCADE``
and ``ON DELETE SET NULL`` did. SQLite keeps its foreign keys: there they cost a few per cent and
dropping one means rebuilding the table under the views that read it.

Revision ID: store_0008_hits_pg_parents
Revises: mbstore_0007_hits_post_index
Create Date: 2026-12-07 12:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "store_0008_hits_pg_parents"
down_revision: str | Sequence[str] | None = "mbstore_0007_hits_post_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UP = [
    "ALTER TABLE hits DROP CONSTRAINT fk_hits_post_id_posts",
    "ALTER TABLE hits DROP CONSTRAINT fk_hits_subject_id_subjects",
    """CREATE FUNCTION hits_follow_deleted_posts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM hits WHERE post_id IN (SELECT id FROM gone); RETURN NULL; END $$""",
    """CREATE TRIGGER posts_delete_hits AFTER DELETE ON posts REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION hits_follow_deleted_posts()""",
    """CREATE FUNCTION hits_follow_deleted_subjects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE hits SET subject_id = NULL WHERE subject_id IN (SELECT id FROM gone); RETURN NULL; END $$""",
    """CREATE TRIGGER subjects_unset_hits AFTER DELETE ON subjects REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION hits_follow_deleted_subjects()""",
]

_DOWN = [
    "DROP TRIGGER IF EXISTS subjects_unset_hits ON subjects",
    "DROP FUNCTION IF EXISTS hits_follow_deleted_subjects()",
    "DROP TRIGGER IF EXISTS posts_delete_hits ON posts",
    "DROP FUNCTION IF EXISTS hits_follow_deleted_posts()",
    # Rows the checks would have refused cannot exist, but a manual write could have made some.
    "DELETE FROM hits WHERE NOT EXISTS (SELECT 1 FROM posts WHERE posts.id = hits.post_id)",
    "UPDATE hits SET subject_id = NULL WHERE subject_id IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM subjects WHERE subjects.id = hits.subject_id)",
    "ALTER TABLE hits ADD CONSTRAINT fk_hits_post_id_posts FOREIGN KEY (post_id) REFERENCES posts (id) "
    "ON DELETE CASCADE",
    "ALTER TABLE hits ADD CONSTRAINT fk_hits_subject_id_subjects FOREIGN KEY (subject_id) REFERENCES subjects (id) "
    "ON DELETE SET NULL",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _DOWN:
            op.execute(statement)
