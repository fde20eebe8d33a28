"""cases: incidents, triage labels, suppression rules, takedown cases, audit log, alerts, analyst views

Revision ID: 0004_cases
Revises: 0001_core
Create Date: 2026-11-23 18:08:29.183278
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0004_cases"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("cases",)
depends_on: str | Sequence[str] | None = None


_EXCLUDED = "('false_positive', 'seller_contact', 'test_data')"
_LATEST_LABEL = "LEFT JOIN hit_labels l ON l.id = (SELECT max(l2.id) FROM hit_labels l2 WHERE l2.hit_id = h.id)"

V_HITS = """
CREATE VIEW v_hits AS
SELECT h.id AS hit_id, h.post_id, h.source, p.venue, p.url AS permalink, p.external_id,
       p.title AS post_title, p.author AS post_author, p.posted_at, p.first_seen AS post_first_seen,
       p.removed_at AS post_removed_at, p.trade_score, ps.confidence AS post_confidence,
       ps.subjects AS post_subjects, h.attachment_sha256, h.locator, h.id_type, h.form, h.match_kind,
       h.obfuscation, h.confidence, h.masked, h.subject_id, s.subject_ref, h.compatible_subjects,
       h.first_seen, h.last_seen, l.label, l.note AS label_note, l.actor AS labelled_by,
       l.created_at AS labelled_at,
       CASE WHEN l.label IN ('false_positive', 'seller_contact', 'test_data') THEN 1 ELSE 0 END AS excluded,
       ip.incident_id
FROM hits h
JOIN posts p ON p.id = h.post_id
LEFT JOIN subjects s ON s.id = h.subject_id
LEFT JOIN hit_labels l ON l.id = (SELECT max(l2.id) FROM hit_labels l2 WHERE l2.hit_id = h.id)
LEFT JOIN incident_posts ip ON ip.post_id = h.post_id
LEFT JOIN post_scores ps ON ps.post_id = h.post_id
"""

V_INCIDENTS = """
CREATE VIEW v_incidents AS
SELECT i.id AS incident_id, i.title, i.status, i.merged_into, i.first_seen, i.last_seen,
       i.subject_count, i.hit_count, i.post_count, i.id_types, i.confidence, i.awareness_at,
       i.awareness_basis, i.notify_deadline, i.report_required, i.report_reasons, i.intrusion,
       (SELECT count(*) FROM takedown_cases t JOIN incident_posts ip ON ip.post_id = t.post_id
         WHERE ip.incident_id = i.id AND t.state IN ('open', 'requested')) AS open_takedowns,
       i.created_at, i.updated_at
FROM incidents i
"""

_TYPES_AGG = {
    "postgresql": "string_agg(DISTINCT h.id_type, ',' ORDER BY h.id_type)",
    "sqlite": "group_concat(DISTINCT h.id_type)",
}

V_AFFECTED = """
CREATE VIEW v_affected_subjects AS
SELECT ip.incident_id, s.id AS subject_id, s.subject_ref, {types} AS id_types,
       count(*) AS hits, count(DISTINCT h.post_id) AS posts,
       min(h.first_seen) AS first_seen, max(h.last_seen) AS last_seen,
       max(h.confidence) AS max_confidence,
       CASE max(CASE h.match_kind WHEN 'exact' THEN 3 WHEN 'composite' THEN 2 ELSE 1 END)
            WHEN 3 THEN 'exact' WHEN 2 THEN 'composite' ELSE 'partial' END AS match_strength
FROM hits h
JOIN incident_posts ip ON ip.post_id = h.post_id
JOIN subjects s ON s.id = h.subject_id
{latest}
WHERE l.label IS NULL OR l.label NOT IN {excluded}
GROUP BY ip.incident_id, s.id, s.subject_ref
"""

_PG_APPEND_ONLY = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]
_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
]


def _create_views_and_triggers() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(V_HITS)
    op.execute(V_INCIDENTS)
    types = _TYPES_AGG.get(dialect, _TYPES_AGG["sqlite"])
    op.execute(V_AFFECTED.format(types=types, latest=_LATEST_LABEL, excluded=_EXCLUDED))
    for statement in _PG_APPEND_ONLY if dialect == "postgresql" else _SQLITE_APPEND_ONLY:
        op.execute(statement)


def _drop_views_and_triggers() -> None:
    for view in ("v_affected_subjects", "v_incidents", "v_hits"):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_log_seq")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_seen", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("subject_count", sa.Integer(), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("id_types", sa.String(length=512), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("awareness_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("awareness_basis", sa.String(length=255), nullable=True),
        sa.Column("notify_deadline", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("intrusion", sa.Boolean(), nullable=False),
        sa.Column("report_required", sa.Boolean(), nullable=False),
        sa.Column("report_reasons", sa.String(length=512), nullable=False),
        sa.Column("alerted_confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["incidents.id"],
            name=op.f("fk_incidents_merged_into_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_status"), ["status"], unique=False)

    op.create_table(
        "alert_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delivered_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_alert_log_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_log")),
    )
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_log_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_log_status"), ["status"], unique=False)

    op.create_table(
        "incident_posts",
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("joined_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_posts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_incident_posts_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_incident_posts")),
    )
    with op.batch_alter_table("incident_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_posts_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "takedown_cases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("permalink", sa.String(length=2048), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_takedown_cases_post_id_posts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_cases")),
    )
    with op.batch_alter_table("takedown_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takedown_cases_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_takedown_cases_state"), ["state"], unique=False)

    op.create_table(
        "post_scores",
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("max_hit_confidence", sa.Float(), nullable=False),
        sa.Column("trade_score", sa.Float(), nullable=False),
        sa.Column("seller_contact_hit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("computed_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_scores_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["seller_contact_hit_id"],
            ["hits.id"],
            name=op.f("fk_post_scores_seller_contact_hit_id_hits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_scores")),
    )
    op.create_table(
        "suppression_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_hit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_hit_id"],
            ["hits.id"],
            name=op.f("fk_suppression_rules_from_hit_id_hits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_rules")),
    )
    with op.batch_alter_table("suppression_rules", schema=None) as batch_op:
        batch_op.create_index("ix_suppression_lookup", ["digest", "id_type", "form"], unique=False)

    op.create_table(
        "takedown_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["takedown_cases.id"],
            name=op.f("fk_takedown_events_case_id_takedown_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_events")),
    )
    with op.batch_alter_table("takedown_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takedown_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "hit_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("hit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_hit_labels_hit_id_hits"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["suppression_rules.id"],
            name=op.f("fk_hit_labels_rule_id_suppression_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hit_labels")),
    )
    with op.batch_alter_table("hit_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hit_labels_hit_id"), ["hit_id"], unique=False)
    _create_views_and_triggers()


def downgrade() -> None:
    _drop_views_and_triggers()
    with op.batch_alter_table("hit_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hit_labels_hit_id"))

    op.drop_table("hit_labels")
    with op.batch_alter_table("takedown_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_events_case_id"))

    op.drop_table("takedown_events")
    with op.batch_alter_table("suppression_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_suppression_lookup")

    op.drop_table("suppression_rules")
    op.drop_table("post_scores")
    with op.batch_alter_table("takedown_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_cases_state"))
        batch_op.drop_index(batch_op.f("ix_takedown_cases_post_id"))

    op.drop_table("takedown_cases")
    with op.batch_alter_table("incident_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_posts_incident_id"))

    op.drop_table("incident_posts")
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_log_status"))
        batch_op.drop_index(batch_op.f("ix_alert_log_incident_id"))

    op.drop_table("alert_log")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_status"))

    op.drop_table("incidents")
    op.drop_table("audit_log")
