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


def test_relabelling_a_false_positive_lifts_its_rule(db: Db) -> None:
    """Issue 16 item 2: after false positive then confirmed, new sightings count again."""
    from storage.models.cases import Incident
    from storage.repositories.cases import incident_of_post

    with db.world() as w:
        first = w.post("chan_a", "1", trade_score=0.0)
        hit = w.hit(first, "u1")
        w.ingest(first, [hit])
        made = label_hit(w.session, hit.id, "false_positive", actor="alice", note="looked like our test line")
        assert made.rule_id is not None
        confirmed = label_hit(w.session, hit.id, "confirmed", actor="bob", note="it is a customer")
        assert confirmed.lifted == (made.rule_id,)
        later = w.post("chan_a", "2", trade_score=0.0)
        again = w.hit(later, "u1")
        w.ingest(later, [again])
        assert again.id not in current_labels(w.session, [again.id])
        incident_id = incident_of_post(w.session, later.id)
        assert incident_id is not None
        assert w.session.get_one(Incident, incident_id).subject_count == 1


def test_rule_follows_the_subject_not_the_digest(db: Db) -> None:
    """A rule holds (subject, type), so the same subject's identifier under another key is still covered."""
    from tests.leakmon.workflows.world import digest

    with db.world() as w:
        first = w.post("chan_a", "1")
        hit = w.hit(first, "u1")
        w.ingest(first, [hit])
        label_hit(w.session, hit.id, "false_positive", actor="alice")
        later = w.post("chan_a", "2")
        rekeyed = w.hit(later, "u1")
        rekeyed.digest, rekeyed.key_id = digest("phone:u1 under the new key"), "k-new"
        w.session.flush()
        w.ingest(later, [rekeyed])
        assert current_labels(w.session, [rekeyed.id])[rekeyed.id].label == "false_positive"
