"""Triage labels, false-positive suppression by context, post scoring and the seller-contact heuristic."""

from __future__ import annotations

import pytest

from leakmon.errors import InputError, NotFoundError
from leakmon.workflows.triage import label_hit
from storage.models.cases import PostScore
from storage.repositories.cases import current_labels
from tests.leakmon.workflows.world import Db


def test_false_positive_suppresses_same_digest_in_same_source_on_later_runs(db: Db) -> None:
    with db.world() as w:
        first = w.post("chan_a", "1")
        hit = w.hit(first, "u1")
        w.ingest(first, [hit])
        label_hit(w.session, hit.id, "false_positive", actor="alice", note="shop phone in every ad")
        later = w.post("chan_a", "2")
        again = w.hit(later, "u1")
        elsewhere_post = w.post("chan_b", "3")
        elsewhere = w.hit(elsewhere_post, "u1")
        w.ingest(later, [again])
        w.ingest(elsewhere_post, [elsewhere])
        labels = current_labels(w.session, [again.id, elsewhere.id])
    assert labels[again.id].label == "false_positive"
    assert labels[again.id].actor.startswith("rule:")
    assert elsewhere.id not in labels


def test_everywhere_rule_suppresses_in_every_source(db: Db) -> None:
    with db.world() as w:
        first = w.post("chan_a", "1")
        hit = w.hit(first, "u1")
        w.ingest(first, [hit])
        label_hit(w.session, hit.id, "false_positive", actor="alice", everywhere=True)
        other = w.post("forum_b", "9", venue="forum")
        later = w.hit(other, "u1")
        w.ingest(other, [later])
        assert current_labels(w.session, [later.id])[later.id].label == "false_positive"


def test_unknown_label_and_missing_hit_are_clear_errors(db: Db) -> None:
    with db.world() as w:
        post = w.post("chan_a", "1")
        hit = w.hit(post, "u1")
        with pytest.raises(InputError, match="unknown label"):
            label_hit(w.session, hit.id, "maybe", actor="a")
        with pytest.raises(NotFoundError, match="hit 999999"):
            label_hit(w.session, 999999, "confirmed", actor="a")


def test_one_phone_in_an_ad_is_the_seller_and_weak(db: Db) -> None:
    with db.world() as w:
        ad = w.post("chan_a", "1", trade_score=0.9)
        w.ingest(ad, [w.hit(ad, "u1", "phone")])
        sample = w.leak("chan_b", "2", [f"s{i}" for i in range(40)], file_sha="d" * 64, trade_score=0.9)
        ad_score = w.session.get_one(PostScore, ad.id)
        sample_score = w.session.get_one(PostScore, sample.id)
    assert ad_score.seller_contact_hit_id is not None
    assert ad_score.confidence < 0.2
    assert sample_score.seller_contact_hit_id is None
    assert sample_score.subjects == 40
    assert sample_score.confidence > 0.9


@pytest.mark.parametrize(("subjects", "low", "high"), [(1, 0.3, 0.6), (5, 0.55, 0.8), (40, 0.9, 1.0)])
def test_confidence_grows_with_distinct_subjects(db: Db, subjects: int, low: float, high: float) -> None:
    with db.world() as w:
        post = w.leak("chan_a", "1", [f"s{i}" for i in range(subjects)], file_sha="e" * 64, trade_score=0.0)
        score = w.session.get_one(PostScore, post.id).confidence
    assert low <= score <= high
