"""The audit log is append-only and tamper-evident: verify names the first bad entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from leakmon.keyring import ensure_keyring
from leakmon.workflows import audit
from leakmon.workflows.audit import AuditKey
from storage.models.cases import AuditEntry
from storage.repositories.cases_audit import entry_hash
from tests.leakmon.workflows.world import Db


@pytest.fixture(autouse=True)
def audit_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditKey:
    """A key file of its own: the audit key and the anchor file beside it."""
    key_file = tmp_path / "keys" / "keys.json"
    ensure_keyring(key_file)
    monkeypatch.setenv("LEAKMON_KEY_FILE", str(key_file))
    return AuditKey.for_key_file(key_file)


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
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
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
        )  # without the audit key: a plain SHA-256 that cannot pass as the keyed hash
    _tamper(db, "UPDATE audit_log SET actor = 'mallory', entry_hash = :forged WHERE seq = 2", forged=forged)
    with db.sessions() as session:
        check = audit.verify(session)
    assert check.bad_seq == 2
    assert "edited" in (check.reason or "")


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET rows = 0", "DELETE FROM audit_log"])
def test_database_refuses_changes(db: Db, statement: str) -> None:
    _append(db, 2)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))


def test_actor_defaults_to_os_user() -> None:
    assert audit.resolve_actor("carol") == "carol"
    assert audit.resolve_actor(None)


def _check(db: Db) -> audit.ChainCheck:
    with db.sessions() as session:
        return audit.verify(session)


def test_deleting_the_newest_entries_is_detected(db: Db) -> None:
    _append(db, 5)
    _tamper(db, "DELETE FROM audit_log WHERE seq >= 4")
    check = _check(db)
    assert (check.ok, check.bad_seq) == (False, 4)
    assert "newest entries were deleted" in (check.reason or "")


def test_deleting_everything_is_detected(db: Db) -> None:
    _append(db, 3)
    _tamper(db, "DELETE FROM audit_log")
    check = _check(db)
    assert not check.ok
    assert "3 entries but only 0 remain" in (check.reason or "")


def _recompute(db: Db, drop_seqs: set[int], key: bytes | None, pad_to: int = 0) -> None:
    """What an attacker with the database alone can do: drop entries, renumber, rehash every link."""
    with db.sessions() as session:
        kept = [e for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)) if e.seq not in drop_seqs]
        rows = [(e.at, e.actor, e.action, e.target, e.rows, dict(e.details)) for e in kept]
    rows += [rows[-1]] * max(0, pad_to - len(rows))
    _tamper(db, "DELETE FROM audit_log")
    prev = "0" * 64
    for seq, (at, actor, action, target, count, details) in enumerate(rows, start=1):
        if key is None:
            details.pop("chain_key", None)
        digest = entry_hash(seq, at, actor, action, target, count, details, prev, key)
        with db.sessions.begin() as session:
            session.add(
                AuditEntry(
                    seq=seq,
                    at=at,
                    actor=actor,
                    action=action,
                    target=target,
                    rows=count,
                    details=details,
                    prev_hash=prev,
                    entry_hash=digest,
                )
            )
        prev = digest


@pytest.mark.parametrize("pad_to", [0, 6], ids=["shorter", "padded-to-length"])
@pytest.mark.parametrize("guessed_key", [None, b"g" * 32], ids=["unkeyed", "guessed-key"])
def test_a_recomputed_chain_is_detected(db: Db, guessed_key: bytes | None, pad_to: int) -> None:
    _append(db, 6)
    _recompute(db, {2, 3, 4}, guessed_key, pad_to)  # the three export_affected rows of the review
    check = _check(db)
    assert not check.ok
    assert check.reason


def test_a_chain_from_before_the_audit_key_verifies_by_the_legacy_rule_and_upgrades(db: Db) -> None:
    _append(db, 3)
    _recompute(db, set(), None)  # exactly what an old leakmon wrote: plain SHA-256, no chain_key
    (Path(audit.current_key().anchor)).unlink()
    check = _check(db)
    assert not check.ok
    assert "audit anchor" in (check.reason or "")
    with db.sessions.begin() as session:
        anchored = audit.anchor_now(session, actor="ops")
    assert anchored.ok
    assert anchored.entries == 4
    assert _check(db).ok
    _append(db, 1)
    assert _check(db).entries == 5
    _recompute(db, set(), None)  # a later recomputation as "legacy" no longer passes
    assert not _check(db).ok


def _failed_export(db: Db) -> None:
    with db.sessions.begin() as session:
        audit.record(session, "export_affected", "incident 9", rows=1)
        raise RuntimeError("the export failed")


def test_the_anchor_is_private_and_a_rollback_leaves_it_alone(db: Db, audit_key: AuditKey) -> None:
    _append(db, 2)
    first = audit_key.anchor.read_text()
    assert audit_key.anchor.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError, match="export failed"):
        _failed_export(db)
    assert audit_key.anchor.read_text() == first
    assert _check(db).ok


def test_an_unreadable_anchor_is_reported_not_overwritten_by_the_next_append(db: Db, audit_key: AuditKey) -> None:
    _append(db, 2)
    audit_key.anchor.write_text("{garbled")
    _append(db, 1)
    check = _check(db)
    assert not check.ok
    assert "cannot be read" in (check.reason or "")
    with db.sessions.begin() as session:
        assert audit.anchor_now(session, actor="ops").ok  # the operator re-anchors after looking
    assert _check(db).ok
