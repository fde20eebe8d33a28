"""Every case command through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from leakmon.cli import app
from tests.leakmon.cli import run_cli
from tests.leakmon.commands.seed import FILE, seed
from tests.leakmon.workflows.receivers import webhook_receiver
from tests.leakmon.workflows.world import SECRET_VALUES, Db

CaptureFixture = pytest.CaptureFixture[str]
OURS = ("hits", "incidents", "takedown", "export", "audit", "purge")


def _paths() -> list[tuple[str, ...]]:
    # Typer vendors Click, so its groups are not ``click.Group``: look for sub-commands instead.
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []
    for name in OURS:
        command = root.commands[name]  # type: ignore[attr-defined]
        found.append((name,))
        found.extend((name, sub) for sub in getattr(command, "commands", {}))
    return found


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def _audit_actions(db: Db) -> list[tuple[str, str, int]]:
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT actor, action, rows FROM audit_log ORDER BY seq"))
        return [(a, b, int(c)) for a, b, c in rows]


def _no_secrets(text_: str) -> None:
    for secret in SECRET_VALUES:
        assert secret not in text_


def test_hits_list_show_label(cli_db: Db, capsys: CaptureFixture) -> None:
    s = seed(cli_db)
    listed = run_cli(capsys, "hits", "--format", "jsonl", "--incident", str(s.incident), "--id-type", "phone")
    assert listed.code == 0, listed.err
    rows = [json.loads(line) for line in listed.out.splitlines()]
    assert len(rows) == 6
    assert {r["incident_id"] for r in rows} == {s.incident}
    assert all(r["masked"] == "010-****-5432" for r in rows)
    assert {r["locator"] for r in rows} == {"rows.csv:row 2"}  # which file and row, as `scan` says
    limited = run_cli(capsys, "hits", "--format", "jsonl", "--limit", "2", "--min-confidence", "0.9")
    assert len(limited.out.splitlines()) == 2
    assert run_cli(capsys, "hits", "--source", "ads_channel", "--format", "csv").out.count("\n") == 2
    shown = run_cli(capsys, "hits", "show", str(s.hit), "--actor", "alice")
    assert shown.code == 0, shown.err
    for needed in ("extractor: name_regex", "obfuscation: none", "context: 연락처", "exact digest match"):
        assert needed in shown.out
    labelled = run_cli(capsys, "hits", "label", str(s.hit), "--as", "false_positive", "--note", "QA row")
    assert labelled.code == 0, labelled.err
    assert "suppressed" in labelled.out
    fp = run_cli(capsys, "hits", "--status", "false_positive", "--format", "jsonl")
    assert [json.loads(line)["hit_id"] for line in fp.out.splitlines()] == [s.hit]
    bad = run_cli(capsys, "hits", "label", str(s.hit), "--as", "maybe")
    assert bad.code == 2
    assert "unknown label" in bad.err
    missing = run_cli(capsys, "hits", "show", "999999")
    assert missing.code == 4
    for result in (listed, limited, shown, fp):
        _no_secrets(result.out)
    actions = _audit_actions(cli_db)
    assert ("alice", "view_evidence", 1) in actions
    assert ("tester", "list_hits", 6) in actions
    assert any(a[1] == "label_hit" for a in actions)


def test_incidents_list_show_set_alert(cli_db: Db, capsys: CaptureFixture, config_file: Path) -> None:
    s = seed(cli_db)
    table = run_cli(capsys, "incidents")
    assert table.code == 0, table.err
    assert f"OVERDUE: incident(s) {s.incident} passed" in table.err
    rows = {
        r["incident_id"]: r for r in map(json.loads, run_cli(capsys, "incidents", "--format", "jsonl").out.splitlines())
    }
    leak = rows[s.incident]
    assert leak["subjects"] == 5
    assert leak["posts"] == 2
    assert leak["report_required"] is True
    assert leak["report_reasons"] == "unique_id:rrn"
    assert leak["time_left"].startswith("OVERDUE")
    assert rows[s.ad_incident]["report_required"] is False
    shown = run_cli(capsys, "incidents", "show", str(s.incident))
    assert "https://t.me/kr_db_market/4521" in shown.out
    assert "dark_forum" in shown.out
    flagged = run_cli(capsys, "incidents", "set", str(s.ad_incident), "--intrusion")
    assert "intrusion" in flagged.out
    missing = run_cli(capsys, "incidents", "show", "424242")
    assert missing.code == 4
    assert "incident 424242 does not exist" in missing.err
    with webhook_receiver() as hook:
        config_file.write_text(
            f'[alerts]\nmin_confidence = 0.0\nwebhooks = [{{ url = "{hook.url}" }}]\n', encoding="utf-8"
        )
        sent = run_cli(capsys, "incidents", "alert")
    assert sent.code == 0, sent.err
    assert "1 alert(s) tried, 1 sent" in sent.out  # the lone-phone ad stays below min_confidence
    assert len(hook.bodies) == 1
    for body in hook.bodies:
        _no_secrets(body["text"])
        assert "cust-" not in body["text"]


def test_takedown_commands(cli_db: Db, capsys: CaptureFixture, tmp_path: Path) -> None:
    s = seed(cli_db)
    opened = run_cli(capsys, "takedown", "open", str(s.leak_post), "--note", "sample with RRNs")
    assert opened.code == 0, opened.err
    assert "case 1 (opened)" in opened.out
    assert run_cli(capsys, "takedown", "set", "1", "requested").out.strip() == "case 1: open -> requested"
    refused = run_cli(capsys, "takedown", "set", "1", "open")
    assert refused.code == 2
    assert "case 1 is requested and can move to expired, refused, removed, not open" in refused.err
    draft = run_cli(capsys, "takedown", "draft", "1", "--to", "kisa")
    assert draft.code == 0, draft.err
    for needed in ("jebo@pirst.kr", "-1001234567890", FILE, "@seller_kr", "rrn: 1건, 1명", "UTC"):
        assert needed in draft.out
    _no_secrets(draft.out)
    assert "010-****" not in draft.out
    out_file = tmp_path / "draft.txt"
    assert run_cli(capsys, "takedown", "draft", "1", "--to", "telegram", "--output", str(out_file)).code == 0
    assert "abuse@telegram.org" in out_file.read_text(encoding="utf-8")
    assert run_cli(capsys, "takedown", "set", "1", "removed").code == 0
    listed = run_cli(capsys, "takedown", "list", "--format", "jsonl", "--state", "removed")
    assert [json.loads(line)["case_id"] for line in listed.out.splitlines()] == [1]
    history = run_cli(capsys, "takedown", "show", "1")
    assert [line.split("  ")[1] for line in history.out.splitlines()] == [
        "- -> open",
        "open -> requested",
        "requested -> removed",
    ]
    assert run_cli(capsys, "takedown", "draft", "1", "--to", "fax").code == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_export_affected(cli_db: Db, capsys: CaptureFixture, tmp_path: Path, fmt: str) -> None:
    s = seed(cli_db)
    out = tmp_path / f"affected.{fmt}"
    result = run_cli(
        capsys, "export", "affected", str(s.incident), "--format", fmt, "--output", str(out), "--actor", "dpo"
    )
    assert result.code == 0, result.err
    assert "5 affected subject row(s) from 1 incident(s)" in result.err
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        body = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row)
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    else:
        body = out.read_text(encoding="utf-8-sig")
    _no_secrets(body)
    assert "cust-001" in body
    assert "name+phone" in body
    assert "dark_forum" in body
    assert _audit_actions(cli_db)[-1] == ("dpo", "export_affected", 5)


def test_export_selection_and_sharing(cli_db: Db, capsys: CaptureFixture) -> None:
    s = seed(cli_db)
    every = run_cli(capsys, "export", "affected", "--all", "--format", "jsonl")
    assert len(every.out.splitlines()) == 6
    recent = run_cli(capsys, "export", "affected", "--since", "1d", "--format", "jsonl")
    assert [json.loads(line)["subject_ref"] for line in recent.out.splitlines()] == ["cust-900"]
    neither = run_cli(capsys, "export", "affected")
    assert neither.code == 2
    assert "name one incident" in neither.err
    assert run_cli(capsys, "export", "affected", "1", "--format", "xlsx").code == 2  # xlsx needs --output
    for fmt in ("misp", "stix"):
        shared = run_cli(capsys, "export", "incident", str(s.incident), "--format", fmt)
        assert shared.code == 0, shared.err
        json.loads(shared.out)
        _no_secrets(shared.out)
        assert "cust-" not in shared.out
        assert "rrn: 1 items / 1 people" in shared.out
    actions = [a[1] for a in _audit_actions(cli_db)]
    assert actions.count("export_affected") == 2
    assert actions.count("export_incident") == 2


def test_audit_verify_and_tamper(cli_db: Db, capsys: CaptureFixture) -> None:
    seed(cli_db)
    for _ in range(3):
        run_cli(capsys, "hits", "--format", "jsonl")
    ok = run_cli(capsys, "audit", "verify")
    assert ok.code == 0, ok.err
    assert "audit log OK: 3 entries" in ok.out
    assert "list_hits" in run_cli(capsys, "audit", "list", "--limit", "2").out
    with cli_db.engine.begin() as connection:
        if cli_db.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text("UPDATE audit_log SET rows = 0 WHERE seq = 2"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("UPDATE audit_log SET rows = 0 WHERE seq = 2"))
    broken = run_cli(capsys, "audit", "verify")
    assert broken.code == 1
    assert "BROKEN at entry 2" in broken.err


def test_purge(cli_db: Db, capsys: CaptureFixture, config_file: Path) -> None:
    s = seed(cli_db)
    config_file.write_text("[retention]\nhits_days = 2\nposts_days = 3\n", encoding="utf-8")
    held = run_cli(capsys, "purge", "--dry-run")
    assert "would remove: post_texts=0, evidence_files=0, hits=0, posts=0" in held.out  # the incident is open
    assert run_cli(capsys, "incidents", "set", str(s.incident), "--close").code == 0
    dry = run_cli(capsys, "purge", "--dry-run")
    assert dry.code == 0, dry.err
    assert "would remove: post_texts=0, evidence_files=0, hits=12, posts=2" in dry.out
    done = run_cli(capsys, "purge")
    assert "removed: post_texts=0, evidence_files=0, hits=12, posts=2" in done.out
    assert run_cli(capsys, "hits", "--format", "jsonl").out.count("\n") == 1
    purges = [a[1:] for a in _audit_actions(cli_db) if a[1].startswith("purge")]
    assert purges == [("purge_dry_run", 0), ("purge_dry_run", 14), ("purge", 14)]
    config_file.write_text("[retention]\nhits_days = -1\n", encoding="utf-8")
    bad = run_cli(capsys, "purge")
    assert bad.code == 2
    assert "'hits_days' in [retention]" in bad.err


def test_hits_show_text_decrypts_the_sealed_post_text_audited(cli_db: Db, capsys: CaptureFixture) -> None:
    """Issue 16 item 12: the analyst can read a post's stored (sealed) text; the view is audited."""
    from leakmon.app import App
    from leakmon.keyring import ensure_keyring
    from storage.evidence import EvidenceSealer
    from storage.models.core import Post

    s = seed(cli_db)
    app = App()
    ensure_keyring(app.settings.resolved_key_file)
    key_id, key = app.keyring.active_key("evidence")
    app.close()
    sealed_text = "고객 디비 팝니다 샘플 첨부\nline two"
    with cli_db.sessions.begin() as session:
        post = session.get_one(Post, s.leak_post)
        post.text_ciphertext = EvidenceSealer(key_id, key).seal(sealed_text.encode(), f"post:{post.id}")
        post.text_key_id = key_id
    shown = run_cli(capsys, "hits", "show", str(s.hit), "--text", "--actor", "alice")
    assert shown.code == 0, shown.err
    assert sealed_text in shown.out
    plain = run_cli(capsys, "hits", "show", str(s.hit))
    assert sealed_text not in plain.out  # only on request
    assert ("alice", "view_post_text", 1) in _audit_actions(cli_db)
    none = run_cli(capsys, "hits", "show", str(s.hit + 1000), "--text")
    assert none.code == 4
    ad_hit = run_cli(capsys, "hits", "--source", "ads_channel", "--format", "jsonl")
    no_text = run_cli(capsys, "hits", "show", str(json.loads(ad_hit.out)["hit_id"]), "--text")
    assert no_text.code == 2
    assert "has no stored text" in no_text.err


def test_hits_rules_list_and_remove_audited(cli_db: Db, capsys: CaptureFixture) -> None:
    """Issue 16 item 2: suppression rules are visible (type, source, masked value, who, when, why)."""
    s = seed(cli_db)
    assert run_cli(capsys, "hits", "label", str(s.hit), "--as", "false_positive", "--note", "QA row").code == 0
    listed = run_cli(capsys, "hits", "rules", "--format", "jsonl")
    assert listed.code == 0, listed.err
    (rule,) = [json.loads(line) for line in listed.out.splitlines()]
    assert (rule["id_type"], rule["source"], rule["actor"], rule["note"]) == (
        "name",
        "kr_db_market",
        "tester",
        "QA row",
    )
    assert rule["masked"] == "***"
    assert rule["created_at"]
    _no_secrets(listed.out)
    removed = run_cli(capsys, "hits", "rules", "remove", str(rule["rule_id"]), "--actor", "lead")
    assert removed.code == 0, removed.err
    assert run_cli(capsys, "hits", "rules", "--format", "jsonl").out == ""
    assert ("lead", "remove_rule", 1) in _audit_actions(cli_db)
    assert run_cli(capsys, "hits", "rules", "remove", str(rule["rule_id"])).code == 4
    relabel = run_cli(capsys, "hits", "label", str(s.hit), "--as", "false_positive")
    assert "suppressed from now on" in relabel.out
    confirmed = run_cli(capsys, "hits", "label", str(s.hit), "--as", "confirmed")
    assert "lifted" in confirmed.out
