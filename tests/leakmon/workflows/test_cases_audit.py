"""The audit log is append-only and tamper-evident: verify names the first bad entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from leakmon.workflows import audit
from storage.models.cases import AuditEntry
from storage.repositories.cases_audit import entry_hash
from tests.leakmon.workflows.world import Db


def _append(db: Db, n: int) -> None:
    with db.sessions.begin() as session:
        for i in range(n):
            audit.record(
                session, "export_affected", f"incident {i}", rows=10 + i, actor="alice", details={"format": "csv"}
            )


def _tamper(db: Db, statement: str, **params: object) -> None:
    """Bypass the append-only triggers, as someone with raw database access could."""
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text(statement), params)
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
            connection.execute(text(statement), params)


def test_intact_chain_verifies(db: Db) -> None:
    _append(db, 5)
    with db.sessions() as session:
        check = audit.verify(session)
    assert check.ok
    assert check.entries == 5
    assert len(check.head_hash) == 64


def test_edited_row_is_detected_and_named(db: Db) -> None:
    _append(db, 5)
    _tamper(db, "UPDATE audit_log SET rows = 1 WHERE seq = 3")
    with db.sessions() as session:
        check = audit.verify(session)
    assert not check.ok
    assert check.bad_seq == 3
    assert "edited" in (check.reason or "")


def test_deleted_row_is_detected(db: Db) -> None:
    _append(db, 5)
    _tamper(db, "DELETE FROM audit_log WHERE seq = 2")
    with db.sessions() as session:
        check = audit.verify(session)
    assert check.bad_seq == 3
    assert "deleted" in (check.reason or "")


def test_edit_with_a_recomputed_hash_breaks_the_next_link(db: Db) -> None:
    _append(db, 4)
    with db.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
        forged = entry_hash(
            entry.seq, entry.at, "mallory", entry.action, entry.target, entry.rows, entry.details, entry.prev_hash
        )
    _tamper(db, "UPDATE audit_log SET actor = 'mallory', entry_hash = :forged WHERE seq = 2", forged=forged)
    with db.sessions() as session:
        check = audit.verify(session)
    assert check.bad_seq == 3
    assert "previous entry" in (check.reason or "")


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET rows = 0", "DELETE FROM audit_log"])
def test_database_refuses_changes(db: Db, statement: str) -> None:
    _append(db, 2)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))


def test_actor_defaults_to_os_user() -> None:
    assert audit.resolve_actor("carol") == "carol"
    assert audit.resolve_actor(None)
