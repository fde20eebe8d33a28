"""The legal clock (awareness, 72-hour deadline) and the PIPC/KISA report thresholds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leakmon.workflows.incidents import refresh_for_hit, set_flags
from leakmon.workflows.legal import REPORT_SUBJECTS, report_reasons, time_left
from leakmon.workflows.triage import label_hit
from storage.models.cases import Incident
from storage.repositories.cases import hits_of_posts, incident_of_post
from tests.leakmon.workflows.world import T0, Db, World


def _incident(w: World, post_id: int) -> Incident:
    incident_id = incident_of_post(w.session, post_id)
    assert incident_id is not None
    return w.session.get_one(Incident, incident_id)


def test_strong_exact_hit_starts_the_clock_at_its_sighting(db: Db) -> None:
    with db.world() as w:
        post = w.leak("chan_a", "1", ["u1"], at=T0, trade_score=0.0)
        incident = _incident(w, post.id)
        assert incident.awareness_at == T0
        assert incident.notify_deadline == T0 + timedelta(hours=72)
        assert "exact hit" in (incident.awareness_basis or "")
        left = time_left(incident, now=T0 + timedelta(hours=80))
        assert left is not None
        assert left < timedelta(0)


def test_weak_hit_waits_for_a_confirmed_label(db: Db) -> None:
    with db.world() as w:
        post = w.post("chan_a", "1", at=T0)
        hit = w.hit(post, "u1", confidence=0.7)
        w.ingest(post, [hit])
        incident = _incident(w, post.id)
        assert incident.awareness_at is None
        assert incident.notify_deadline is None
        label_at = T0 + timedelta(hours=5)
        label_hit(w.session, hit.id, "confirmed", actor="alice", at=label_at)
        refresh_for_hit(w.session, hit.id)
        assert incident.awareness_at == label_at
        assert incident.notify_deadline == label_at + timedelta(hours=72)
        assert "alice" in (incident.awareness_basis or "")


def test_false_positive_label_stops_the_clock(db: Db) -> None:
    with db.world() as w:
        post = w.leak("chan_a", "1", ["u1"], trade_score=0.0)
        incident = _incident(w, post.id)
        assert incident.awareness_at is not None
        (hit,) = hits_of_posts(w.session, [post.id])
        label_hit(w.session, hit.id, "false_positive", actor="bob", note="our call-centre number")
        refresh_for_hit(w.session, hit.id)
        assert incident.awareness_at is None
        assert incident.subject_count == 0


@pytest.mark.parametrize(
    ("subjects", "types", "intrusion", "expected"),
    [
        (REPORT_SUBJECTS - 1, ["phone", "name"], False, []),
        (REPORT_SUBJECTS, ["phone"], False, [f"subjects>={REPORT_SUBJECTS}"]),
        (3, ["phone", "rrn"], False, ["unique_id:rrn"]),
        (3, ["frn"], False, ["unique_id:frn"]),
        (3, ["passport_no"], False, ["unique_id:passport_no"]),
        (3, ["phone"], True, ["intrusion"]),
    ],
)
def test_report_reasons(subjects: int, types: list[str], intrusion: bool, expected: list[str]) -> None:
    assert report_reasons(subjects, types, intrusion) == expected


def test_thousand_subjects_require_a_report_and_rrn_too(db: Db) -> None:
    with db.world() as w:
        small = w.leak("chan_a", "1", [f"s{i}" for i in range(REPORT_SUBJECTS - 1)], file_sha="1" * 64)
        assert not _incident(w, small.id).report_required
        big = w.leak("chan_b", "2", [f"b{i}" for i in range(REPORT_SUBJECTS)], file_sha="2" * 64)
        assert _incident(w, big.id).report_required
        assert _incident(w, big.id).subject_count == REPORT_SUBJECTS
        rrn = w.leak("chan_c", "3", ["r1"], types=("rrn",), file_sha="3" * 64)
        assert _incident(w, rrn.id).report_required
        assert _incident(w, rrn.id).report_reasons == "unique_id:rrn"


def test_intrusion_flag_requires_a_report(db: Db) -> None:
    with db.world() as w:
        post = w.leak("chan_a", "1", ["u1"])
        incident = _incident(w, post.id)
        assert not incident.report_required
        set_flags(w.session, incident.id, intrusion=True)
        assert incident.report_required
        assert incident.report_reasons == "intrusion"


def test_likely_seller_contact_does_not_start_the_clock(db: Db) -> None:
    """Issue 16 item 4: an ad whose only exact hit is probably the seller's own phone gets no deadline."""
    with db.world() as w:
        post = w.leak("chan_a", "1", ["u1"], trade_score=0.9, at=T0)
        incident = _incident(w, post.id)
        assert incident.confidence < 0.2  # scoring already called it the seller's contact
        assert incident.awareness_at is None
        assert incident.notify_deadline is None
        second = w.post("chan_a", "2", trade_score=0.9, at=T0 + timedelta(hours=1))
        w.ingest(second, [w.hit(second, "u2"), w.hit(second, "u3")])  # two people in an ad: a sample
        incident = _incident(w, second.id)
        assert incident.awareness_at == T0 + timedelta(hours=1)


def test_hits_below_the_awareness_confidence_or_labelled_test_data_do_not_start_it(db: Db) -> None:
    from leakmon.settings import IncidentSettings

    with db.world() as w:
        post = w.post("chan_a", "1", at=T0, trade_score=0.0)
        weak, test = w.hit(post, "u1", confidence=0.8), w.hit(post, "u2", confidence=0.99)
        w.ingest(post, [weak, test])
        incident = _incident(w, post.id)
        label_hit(w.session, test.id, "test_data", actor="alice")
        refresh_for_hit(w.session, test.id, IncidentSettings(awareness_confidence=0.85))
        assert incident.awareness_at is None
        refresh_for_hit(w.session, test.id, IncidentSettings(awareness_confidence=0.75))
        assert incident.awareness_at == T0
        assert f"exact hit {weak.id}" in (incident.awareness_basis or "")


def test_two_phones_of_one_person_in_an_ad_are_not_a_seller_contact(db: Db) -> None:
    """One identity is one type, form and digest: a second phone (same type, same form, another digest)
    of the same person makes the ad a sample, whose exact hits start the clock."""
    with db.world() as w:
        post = w.post("chan_a", "1", trade_score=0.9, at=T0)
        w.ingest(post, [w.hit(post, "u1", label="phone:1"), w.hit(post, "u1", label="phone:2")])
        incident = _incident(w, post.id)
        assert incident.awareness_at == T0
