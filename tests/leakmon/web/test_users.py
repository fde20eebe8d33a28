"""`leakmon users`: accounts with roles, argon2 hashes, passwords from standard input, audited."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from leakmon.web import accounts
from tests.leakmon.cli import CliResult, run_cli
from tests.leakmon.workflows.world import Db

PASSWORD = "correct horse battery"


def users(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> CliResult:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run_cli(capsys, "users", *argv)


def test_add_list_disable_passwd(cli_db: Db, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch) -> None:
    added = users(capsys, mp, PASSWORD + "\n", "add", "mina", "--role", "analyst")
    assert added.code == 0, added.err
    listed = users(capsys, mp, "", "list", "--format", "jsonl")
    assert '"name": "mina"' in listed.out
    assert '"role": "analyst"' in listed.out
    assert PASSWORD not in listed.out
    with cli_db.engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM web_users")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    with cli_db.sessions.begin() as session:
        assert accounts.authenticate(session, "mina", PASSWORD) is not None
        assert accounts.authenticate(session, "mina", PASSWORD + "x") is None

    assert users(capsys, mp, "another long secret\n", "passwd", "mina").code == 0
    with cli_db.sessions.begin() as session:
        assert accounts.authenticate(session, "mina", PASSWORD) is None
        assert accounts.authenticate(session, "mina", "another long secret") is not None

    assert users(capsys, mp, "", "disable", "mina").code == 0
    with cli_db.sessions.begin() as session:
        assert accounts.authenticate(session, "mina", "another long secret") is None
    with cli_db.engine.connect() as connection:
        actions = [row[0] for row in connection.execute(text("SELECT action FROM audit_log ORDER BY seq"))]
    assert actions == ["user_add", "user_passwd", "user_disable"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (("add", "x", "--role", "boss"), PASSWORD, "unknown role 'boss'"),
        (("add", "x", "--role", "viewer"), "short", "at least 12 characters"),
        (("add", "bad name", "--role", "viewer"), PASSWORD, "a user name is"),
        (("disable", "nobody"), "", "user nobody does not exist"),
    ],
)
def test_bad_input_is_one_sentence(
    cli_db: Db,
    capsys: pytest.CaptureFixture[str],
    mp: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    result = users(capsys, mp, stdin + "\n", *argv)
    assert result.code in (2, 4)
    assert message in result.err
    with cli_db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM web_users")).scalar_one() == 0


def test_duplicate_user_refused(cli_db: Db, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch) -> None:
    assert users(capsys, mp, PASSWORD + "\n", "add", "mina", "--role", "viewer").code == 0
    again = users(capsys, mp, PASSWORD + "\n", "add", "mina", "--role", "admin")
    assert again.code == 2
    assert "already exists" in again.err


@pytest.fixture
def mp(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return monkeypatch


def test_roles_are_ordered() -> None:
    assert accounts.allows("admin", "responder")
    assert accounts.allows("responder", "analyst")
    assert not accounts.allows("analyst", "responder")
    assert not accounts.allows("viewer", "analyst")
    assert not accounts.allows("root", "viewer")
