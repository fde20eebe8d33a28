"""`leakmon status`: per source last run, result, posts/hits, errors, next run and deferral."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leakmon.cli import app as cli
from leakmon.scheduler import status_rows
from storage.db import transaction
from storage.repositories.runs import finish_run, start_run

from .conftest import Workspace, chat, open_service, web_source


@pytest.mark.asyncio
async def test_status_reports_runs_next_run_and_deferral(workspace: Workspace) -> None:
    sources = {**web_source("forum"), **web_source("paste", schedule="30m")}
    app = workspace.app(sources=sources, chats=chat("chan"))
    await (await open_service(app)).close()  # jobs stored, due now
    until = datetime.now(UTC) + timedelta(minutes=10)
    with transaction(app.sessions) as session:
        run_id = start_run(session, "forum", "crawl").id
        stats = {"new_posts": 5, "changed_posts": 2, "new_hits": 9, "errors": 1}
        finish_run(session, run_id, status="ok", stats=stats, retry_after=until)
    rows = {row["job"]: row for row in status_rows(app)}
    app.close()
    forum = rows["web:forum"]
    assert (forum["result"], forum["posts"], forum["hits"], forum["errors"]) == ("ok", 7, 9, 1)
    assert forum["deferred_until"] == until.isoformat(timespec="seconds")
    assert forum["next_run"] is not None
    assert rows["web:paste"]["result"] == "never run"
    assert rows["web:paste"]["schedule"] == "30m"
    assert rows["telegram:chan"]["deferred_until"] is None


def test_status_cli_jsonl_before_any_scheduler_ran(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_HOME", str(workspace.home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", workspace.db_url)
    monkeypatch.setenv("LEAKMON_SOURCES", json.dumps(web_source("forum")))
    result = CliRunner().invoke(cli, ["status", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert row["job"] == "web:forum"
    assert row["result"] == "never run"
    assert row["next_run"] == "not scheduled yet"


def test_status_summary_and_last_error_reason(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: failed runs, undelivered alerts and overdue incidents head `leakmon status`; a dead
    source shows the one-line reason its findings recorded instead of an empty error."""
    from storage.models.cases import AlertRecord, Incident
    from storage.repositories.runs import add_findings

    app = workspace.app(sources=web_source("forum"))
    now = datetime.now(UTC)
    with transaction(app.sessions) as session:
        run_id = start_run(session, "forum", "crawl").id
        add_findings(
            session,
            "forum",
            [
                (
                    "http://127.0.0.1:9/",
                    "connection_error",
                    "Connection was refused by other side: 111: Connection refused.",
                )
            ],
            run_id=run_id,
        )
        finish_run(session, run_id, status="failed", stats={"errors": 1})
        session.add(AlertRecord(kind="new_incident", text="x", created_at=now, status="failed", attempts=8))
        session.add(
            Incident(
                title="t", created_at=now, updated_at=now, first_seen=now, last_seen=now,
                notify_deadline=now - timedelta(hours=1),
            )
        )  # fmt: skip
    app.close()
    monkeypatch.setenv("LEAKMON_HOME", str(workspace.home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", workspace.db_url)
    monkeypatch.setenv("LEAKMON_SOURCES", json.dumps(web_source("forum")))
    listed = CliRunner().invoke(cli, ["status", "--format", "jsonl"])
    (row,) = [json.loads(line) for line in listed.output.splitlines()]
    assert (
        row["error"]
        == "connection_error: http://127.0.0.1:9/: Connection was refused by other side: 111: Connection refused."
    )
    shown = CliRunner().invoke(cli, ["status"])
    assert shown.exit_code == 0, shown.output
    head = shown.output.split("sources")[0]
    assert "failed runs:         1 (web:forum)" in head
    assert "undelivered alerts:  1 (alert 1; 1 given up" in head
    assert "overdue incidents:   1 (incident 1)" in head


def test_findings_command_filters_by_source_kind_run_and_since(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 9: the findings table is readable from the command line."""
    from storage.models.core import FindingRecord
    from storage.repositories.runs import add_findings

    app = workspace.app(sources=web_source("forum"))
    with transaction(app.sessions) as session:
        first = start_run(session, "forum", "crawl").id
        add_findings(
            session, "forum", [("http://127.0.0.1:9/a", "connection_error", "Connection refused")], run_id=first
        )
        second = start_run(session, "paste", "crawl").id
        add_findings(session, "paste", [("http://127.0.0.1:9/b", "http_error", "HTTP 500")], run_id=second)
        add_findings(session, "paste", [("http://127.0.0.1:9/c", "cap_bytes", "larger than the cap")], run_id=second)
        session.flush()
        old = session.scalars(select(FindingRecord).where(FindingRecord.locator.endswith("/c"))).one()
        old.created_at = datetime.now(UTC) - timedelta(days=30)
    app.close()
    monkeypatch.setenv("LEAKMON_HOME", str(workspace.home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", workspace.db_url)

    def listed(*args: str) -> list[dict[str, object]]:
        result = CliRunner().invoke(cli, ["findings", "--format", "jsonl", *args])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines()]

    assert [r["reason"] for r in listed("--source", "forum")] == ["Connection refused"]
    assert [r["locator"] for r in listed("--kind", "http_error")] == ["http://127.0.0.1:9/b"]
    assert len(listed("--run", str(second))) == 2
    assert {r["kind"] for r in listed("--since", "7d")} == {"connection_error", "http_error"}
    assert [r["kind"] for r in listed("--limit", "1")] == ["cap_bytes"]  # newest first (by id)
    table = CliRunner().invoke(cli, ["findings", "--format", "csv", "--kind", "connection_error"])
    assert "Connection refused" in table.output
