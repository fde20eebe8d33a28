"""`leakmon purge --redact-stored`: rows stored before the redaction rule are rewritten once, in batches.

Posts are stored the way the sink stored them before the rule (raw author, post id, URL, title,
attachment names); after the command no plaintext form is in any table, a second run changes
nothing, and the next crawl of the same posts finds them (unchanged) instead of storing them again,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawlers.redact import Redactor
from leakmon.app import App
from leakmon.runtime import build_sink
from leakmon.workflows import redact_stored
from storage.models.core import Post
from tests.leakmon.cli import run_cli
from tests.leakmon.test_privacy_sweep import PEOPLE, PLAINTEXTS, _seller_post
from tests.leakmon.test_protect_and_scan import _database_text


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ws"


def _stored_text(db_url: str, workspace: Path) -> bytes:
    return _database_text(db_url, workspace)


def _posts(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Post)) or 0)


def test_rows_stored_before_the_rule_are_rewritten_once_and_still_dedupe(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(tmp_path / "people.csv")).code == 0
    (tmp_path / "people.csv").unlink()
    second = replace(_seller_post(), external_id="post-01031415926", title="샘플 seoyeon.kim@naver.com")

    app = App()
    with monkeypatch.context() as before_the_rule:  # the sink stored post fields as crawled
        before_the_rule.setattr(Redactor, "ref", lambda self, value: value)
        before_the_rule.setattr(Redactor, "post", lambda self, post: post)
        old = build_sink(app)
        assert old.ingest(_seller_post()).status == "new"
        assert old.ingest(second).status == "new"
    assert build_sink(app).ingest(second).status == "new"  # a crawl after the rule stored it again
    app.close()
    assert "940309-2761951" in _stored_text(db_url, workspace).decode("utf-8", "replace")  # the raw rows

    monkeypatch.setattr(redact_stored, "BATCH_ROWS", 2)  # several batches even on this small database
    dry = run_cli(capsys, "purge", "--redact-stored", "--dry-run")
    assert dry.code == 0, dry.err
    assert "would rewrite" in dry.out
    assert "posts.external_id=2" in dry.out
    assert "940309-2761951" in _stored_text(db_url, workspace).decode("utf-8", "replace")  # nothing written

    done = run_cli(capsys, "purge", "--redact-stored")
    assert done.code == 0, done.err
    assert "posts.external_id=2" in done.out
    assert "posts.stored_twice=1" in done.out
    assert "posts.author=" in done.out
    assert "attachments.name=" in done.out
    haystack = _stored_text(db_url, workspace)
    assert [value for value in PLAINTEXTS if value.encode() in haystack] == []
    again = run_cli(capsys, "purge", "--redact-stored")
    assert again.code == 0, again.err
    assert "redact stored rewrote: nothing" in again.out  # idempotent

    app = App()
    posts = _posts(app)
    sink = build_sink(app)
    assert sink.ingest(_seller_post()).status == "unchanged"  # found by its keyed reference
    assert sink.ingest(second).status == "unchanged"
    assert sink.record_removed("forum", "post-940309-2761951")
    assert _posts(app) == posts == 3
    app.close()
    listed = run_cli(capsys, "audit", "list", "--limit", "100").out
    assert listed.count("redact_stored ") + listed.count("redact_stored\n") >= 1
