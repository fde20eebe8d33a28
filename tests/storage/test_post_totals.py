"""The post hook's one pass (``post_hits`` with ``exact``) against what it replaced, on random posts.

``post_hits`` is checked against the post's hits read whole in Python; ``incident_aggregate`` given
the pass's totals (a post that is its incident's only one) against the same aggregate over the
incident's hits (the passes it had before, still taken without totals), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.cases import EXCLUDING_LABELS, HitLabel, Incident, IncidentPost, PostScore
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.cases import incident_aggregate
from storage.repositories.hits import HitRow, post_hits, store_hits

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TYPES = ("phone", "email", "name", "rrn")
KINDS = ("exact", "partial", "composite")
LABELS = ("confirmed", "false_positive", "test_data", "seller_contact")

hit = st.tuples(
    st.sampled_from(TYPES),
    st.sampled_from(KINDS),
    st.sampled_from((0.5, 0.89, 0.9, 0.95)),
    st.sampled_from((None, 0, 1, 2)),  # subject (index), or none
    st.sampled_from((None, "f1", "f2")),  # the file it was found in
    st.integers(0, 2),  # the store it came with (first seen hours after T0)
    st.sampled_from(("full", "p3s4")),
)
post = st.fixed_dictionaries(
    {
        "hits": st.lists(hit, max_size=12),
        "labels": st.lists(st.tuples(st.integers(0, 11), st.sampled_from(LABELS)), max_size=3),
        "seller": st.one_of(st.none(), st.integers(0, 3)),
        "order": st.permutations((0, 1, 2)),  # the stores' order: a later hit id may be first seen earlier
        "second_post": st.booleans(),
        "strong": st.sampled_from((0.9, 0.95)),
    }
)


def _row(i: int, spec: tuple[str, str, float, int | None, str | None, int, str], subjects: list[int]) -> HitRow:
    id_type, kind, confidence, subject, file, _, form = spec
    sid = subjects[subject] if subject is not None else None
    return HitRow(
        attachment_sha256=file,
        source="chan",
        locator=f"d.csv:row {i}",
        id_type=id_type,
        form=form,
        digest=(i % 5).to_bytes(32, "big"),  # digests repeat: one identity needs one digest too
        key_id="k1",
        subject_id=sid,
        subject_slot=sid or 0,
        compatible_subjects=1,
        match_kind=kind,
        obfuscation="none",
        confidence=confidence,
        masked="***",
        explanation="{}",
    )


def _expected(session: Session, post_id: int) -> dict[str, object]:
    """The summary from the post's hits and labels read whole."""
    rows = session.scalars(select(HitRecord).where(HitRecord.post_id == post_id).order_by(HitRecord.id)).all()
    latest: dict[int, str] = {}
    for label in session.scalars(select(HitLabel).order_by(HitLabel.id)):
        latest[label.hit_id] = label.label
    kept = [r for r in rows if latest.get(r.id) not in EXCLUDING_LABELS]
    files = {r.attachment_sha256 for r in kept if r.attachment_sha256 is not None}
    return {
        "hits": len(kept),
        "best": max((r.confidence for r in kept), default=0.0),
        "subjects": len({r.subject_id for r in kept if r.subject_id is not None}),
        "first": (kept[0].id, kept[0].id_type) if kept else None,
        "one_subject": len({r.subject_id or 0 for r in kept}) <= 1,
        "in_files": bool(files),
        "files": tuple(files) if len(files) <= 1 else None,
        "one_identity": len({(r.id_type, r.form, r.digest) for r in kept}) == 1,
    }


def _check(session: Session, example: dict[str, object], subjects: list[int]) -> None:
    specs = example["hits"]
    assert isinstance(specs, list)
    owner = Post(source="chan", external_id="p", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
    session.add(owner)
    session.flush()
    for hour in example["order"]:  # type: ignore[attr-defined]
        batch = [_row(i, spec, subjects) for i, spec in enumerate(specs) if spec[5] == hour]
        unique = {(r.id_type, r.form, r.digest, r.subject_slot): r for r in batch}  # one identity a batch
        store_hits(session, owner.id, [list(unique.values())], T0 + timedelta(hours=hour))
    ids = list(session.scalars(select(HitRecord.id).where(HitRecord.post_id == owner.id).order_by(HitRecord.id)))
    labels = example["labels"]
    assert isinstance(labels, list)
    for n, (index, label) in enumerate(labels):
        if index < len(ids):
            session.add(
                HitLabel(hit_id=ids[index], label=label, note="", actor="x", created_at=T0 + timedelta(minutes=n))
            )
    session.flush()
    strong = float(example["strong"])  # type: ignore[arg-type]
    summary = post_hits(session, owner.id, EXCLUDING_LABELS, exact=("exact", strong))
    plain = post_hits(session, owner.id, EXCLUDING_LABELS)
    got = {name: getattr(summary, name) for name in _expected(session, owner.id)}
    assert got == _expected(session, owner.id)
    assert {name: getattr(plain, name) for name in got} == got
    incident = Incident(title="i", status="open", created_at=T0, updated_at=T0, first_seen=T0, last_seen=T0)
    session.add(incident)
    session.flush()
    session.add(IncidentPost(post_id=owner.id, incident_id=incident.id, joined_at=T0, reason="new", fingerprint=""))
    seller = example["seller"]
    chosen = ids[seller] if isinstance(seller, int) and seller < len(ids) else None
    session.add(PostScore(post_id=owner.id, seller_contact_hit_id=chosen, confidence=0.5, computed_at=T0))
    if example["second_post"]:
        other = Post(source="chan", external_id="q", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add(other)
        session.flush()
        store_hits(session, other.id, [[_row(7, ("phone", "exact", 0.95, 0, None, 0, "full"), subjects)]], T0)
        session.add(IncidentPost(post_id=other.id, incident_id=incident.id, joined_at=T0, reason="x", fingerprint=""))
    session.flush()
    given_totals = incident_aggregate(
        session, incident.id, excluded=EXCLUDING_LABELS, exact_kind="exact", strong=strong, known=summary.totals
    )
    read_again = incident_aggregate(session, incident.id, excluded=EXCLUDING_LABELS, exact_kind="exact", strong=strong)
    assert given_totals == read_again
    if summary.totals is not None and not example["second_post"]:
        assert summary.totals.subjects == summary.subjects


def test_the_one_pass_sums_up_what_the_passes_it_replaced_did(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        people = [Subject(subject_ref=f"cust-{i}", created_at=T0) for i in range(3)]
        session.add_all(people)
        session.flush()
        subjects = [p.id for p in people]

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(example=post)
    @example(  # the first strong exact hit is the post's likely seller contact: the next one counts
        example={
            "hits": [("phone", "exact", 0.95, 0, None, 0, "full"), ("email", "exact", 0.95, 1, None, 0, "full")],
            "labels": [],
            "seller": 0,
            "order": (0, 1, 2),
            "second_post": False,
            "strong": 0.9,
        }
    )
    @example(  # stored later, first seen earlier: the first strong exact hit is not the lowest id
        example={
            "hits": [("phone", "exact", 0.95, 0, None, 2, "full"), ("email", "exact", 0.95, 1, None, 0, "full")],
            "labels": [],
            "seller": None,
            "order": (2, 0, 1),
            "second_post": False,
            "strong": 0.9,
        }
    )
    def check(example: dict[str, object]) -> None:
        session = sessions()
        try:
            _check(session, example, subjects)
        finally:
            session.rollback()
            session.close()

    check()
    engine.dispose()


def test_a_new_posts_subjects_come_from_the_fold_and_a_wrong_count_is_never_taken_over_labels(db_url: str) -> None:
    """``store_hits`` reports the distinct subjects the first-sighting fold grouped, for a post that
    had no hits (None after); ``post_hits`` takes such a count only when no label excludes a hit."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        people = [Subject(subject_ref=f"cust-{i}", created_at=T0) for i in range(3)]
        owner = Post(source="chan", external_id="p", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add_all([*people, owner])
        session.flush()
        subjects = [p.id for p in people]
        specs = [("phone", "exact", 0.9, s, None, 0, "full") for s in (0, 0, 1, None)]
        rows = [_row(i, spec, subjects) for i, spec in enumerate(specs)]
        first = store_hits(session, owner.id, [rows[:2], rows[2:]], T0)
        again = store_hits(session, owner.id, [[_row(9, ("email", "exact", 0.9, 2, None, 0, "full"), subjects)]], T0)
        assert (first.subjects, again.subjects) == (2, None)
        assert post_hits(session, owner.id, EXCLUDING_LABELS, subjects=1234).subjects == 1234  # taken as given
        some = session.scalar(
            select(HitRecord.id).where(HitRecord.post_id == owner.id, HitRecord.subject_id == subjects[2])
        )
        session.add(HitLabel(hit_id=some, label="false_positive", note="", actor="x", created_at=T0))
        session.flush()
        assert post_hits(session, owner.id, EXCLUDING_LABELS, subjects=1234).subjects == 2  # counted
    engine.dispose()


def test_the_folds_count_is_the_distinct_subjects_of_a_new_post(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        people = [Subject(subject_ref=f"cust-{i}", created_at=T0) for i in range(3)]
        session.add_all(people)
        session.flush()
        subjects = [p.id for p in people]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(specs=st.lists(hit, max_size=12))
    def check(specs: list[tuple[str, str, float, int | None, str | None, int, str]]) -> None:
        session = sessions()
        try:
            owner = Post(source="chan", external_id="p", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
            session.add(owner)
            session.flush()
            rows = {}
            for i, spec in enumerate(specs):
                row = _row(i, spec, subjects)
                rows[(row.id_type, row.form, row.digest, row.subject_slot)] = row
            stored = store_hits(session, owner.id, [list(rows.values())], T0)
            assert stored.subjects == len({row.subject_id for row in rows.values() if row.subject_id is not None})
            assert stored.subjects == post_hits(session, owner.id, EXCLUDING_LABELS).subjects
        finally:
            session.rollback()
            session.close()

    check()
    engine.dispose()
