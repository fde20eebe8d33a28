"""CLI parity with the console's triage: `hits unlabel` is the console's undo, and `hits rules remove`
returns the hits the rule labelled automatically unless --keep-labels; both audited as in the console."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from leakmon.workflows.triage import apply_suppression
from storage.models.cases import HitLabel
from storage.models.core import HitRecord, Post
from tests.leakmon.cli import run_cli
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.workflows.world import Db

CaptureFixture = pytest.CaptureFixture[str]


def _labels(db: Db, hit_id: int) -> list[tuple[str, str]]:
    with db.sessions() as session:
        rows = session.scalars(select(HitLabel).where(HitLabel.hit_id == hit_id).order_by(HitLabel.id))
        return [(label.label, label.actor) for label in rows]


def _audit(db: Db, action: str) -> list[tuple[str, str, dict[str, object]]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT actor, target, details FROM audit_log WHERE action = :a ORDER BY seq"), {"a": action}
        )
        found = [(a, t, d if isinstance(d, dict) else json.loads(d)) for a, t, d in rows]
    for _, _, details in found:
        details.pop("chain_key", None)  # the audit chain's own bookkeeping
    return found


def _auto_labelled(db: Db, s: Seeded, capsys: CaptureFixture) -> tuple[int, int, int]:
    """(origin hit, its rule, the repost's hit of the same subject that the rule labelled)."""
    with db.sessions() as session:
        source = session.scalars(
            select(HitRecord).join(Post, Post.id == HitRecord.post_id).where(Post.source == "kr_db_market")
        ).all()
        repost = session.scalars(select(HitRecord).where(HitRecord.post_id == s.repost)).one()
        origin = next(h for h in source if h.subject_id == repost.subject_id and h.id_type == repost.id_type)
        origin_id, repost_id = origin.id, repost.id
    labelled = run_cli(capsys, "hits", "label", str(origin_id), "--as", "false_positive", "--everywhere")
    assert labelled.code == 0, labelled.err
    with db.sessions.begin() as session:
        assert apply_suppression(session, [session.get_one(HitRecord, repost_id)]) == [repost_id]
    (rule,) = [json.loads(line) for line in run_cli(capsys, "hits", "rules", "--format", "jsonl").out.splitlines()]
    return origin_id, int(rule["rule_id"]), repost_id


def test_hits_unlabel_undoes_the_current_label_like_the_console(cli_db: Db, capsys: CaptureFixture) -> None:
    s = seed(cli_db)
    assert run_cli(capsys, "hits", "label", str(s.hit), "--as", "confirmed").code == 0
    origin, rule_id, auto = _auto_labelled(cli_db, s, capsys)
    undone = run_cli(capsys, "hits", "unlabel", str(origin), "--actor", "lead")
    assert undone.code == 0, undone.err
    assert f"rule {rule_id} removed, 1 other hit(s) unlabelled" in undone.out
    assert _labels(cli_db, origin) == []
    assert _labels(cli_db, auto) == []  # the rule's automatic label went with the rule
    assert run_cli(capsys, "hits", "rules", "--format", "jsonl").out == ""
    ((actor, target, details),) = _audit(cli_db, "unlabel_hit")
    assert (actor, target) == ("lead", f"hit {origin}")
    assert details == {"undone": "false_positive", "by": "tester", "now": "None", "removed_rule": rule_id,
                       "unlabelled": 1}  # fmt: skip

    again = run_cli(capsys, "hits", "unlabel", str(s.hit))
    assert again.code == 0, again.err
    assert "confirmed (by tester) undone; now unlabelled" in again.out
    nothing = run_cli(capsys, "hits", "unlabel", str(s.hit))
    assert nothing.code == 2
    assert "no label to undo" in nothing.err
    assert run_cli(capsys, "hits", "unlabel", "999999").code == 4
    assert "unlabel" in run_cli(capsys, "hits", "--help").out


@pytest.mark.parametrize("keep", [False, True])
def test_rules_remove_returns_its_hits_unless_kept(cli_db: Db, capsys: CaptureFixture, keep: bool) -> None:
    s = seed(cli_db)
    _, rule_id, auto = _auto_labelled(cli_db, s, capsys)
    removed = run_cli(capsys, "hits", "rules", "remove", str(rule_id), *(["--keep-labels"] if keep else []))
    assert removed.code == 0, removed.err
    assert ("its labels kept" if keep else "1 hit(s) it labelled unlabelled") in removed.out
    assert _labels(cli_db, auto) == ([("false_positive", f"rule:{rule_id}")] if keep else [])
    ((_, target, details),) = _audit(cli_db, "remove_rule")
    assert target == f"rule {rule_id}"
    assert details["unlabelled"] == (0 if keep else 1)
    assert "--keep-labels" in run_cli(capsys, "hits", "rules", "remove", "--help").out
