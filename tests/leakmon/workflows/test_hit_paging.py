"""Hit listings page through the database by id: every row once, in id order, limits respected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from leakmon.workflows import hitviews
from leakmon.workflows.hitviews import HitFilters, iter_hits, list_hits
from storage.models.cases import IncidentPost
from storage.models.core import HitRecord
from tests.leakmon.workflows.world import Db


def test_pages_cover_every_hit_once_in_id_order(db: Db) -> None:
    with db.world() as w:
        post = w.post("chan_a", "1")
        hits = [w.hit(post, f"u{i}", "phone") for i in range(7)]
        w.ingest(post, hits)
        expected = sorted(h.id for h in hits)
        paged = [row["hit_id"] for row in iter_hits(w.session, HitFilters(), page=2)]
        limited = [row["hit_id"] for row in iter_hits(w.session, HitFilters(limit=5), page=2)]
        filtered = [row["hit_id"] for row in iter_hits(w.session, HitFilters(limit=3, id_type="email"), page=2)]
        listed = [row["hit_id"] for row in list_hits(w.session, HitFilters())]
    assert paged == expected
    assert listed == expected
    assert limited == expected[:5]
    assert filtered == []


def _world_with_an_incident(db: Db) -> int:
    """Two posts sharing subjects (one incident) and an unrelated post, their hit ids interleaved."""
    with db.world() as w:
        leak, repost, other = w.post("chan_a", "1"), w.post("chan_b", "2"), w.post("chan_c", "3")
        made: dict[int, list[HitRecord]] = {leak.id: [], repost.id: [], other.id: []}
        for i in range(5):
            made[leak.id].append(w.hit(leak, f"u{i}", "phone"))
            made[other.id].append(w.hit(other, f"x{i}", "email"))
            made[repost.id].append(w.hit(repost, f"u{i}", "phone"))
        for post in (leak, repost, other):
            w.ingest(post, made[post.id])
        membership = w.session.get_one(IncidentPost, leak.id)
        return membership.incident_id


@pytest.mark.parametrize("big", [True, False])
def test_incident_pages_equal_the_unpaged_listing(db: Db, big: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    incident = _world_with_an_incident(db)
    monkeypatch.setattr(hitviews, "BIG_INCIDENT", 1 if big else 10**9)
    with db.sessions() as session:
        assert hitviews.is_big_incident(session, incident) == (big and db.url.startswith("sqlite"))
        posts = set(session.scalars(select(IncidentPost.post_id).where(IncidentPost.incident_id == incident)))
        expected = list(
            session.scalars(select(HitRecord.id).where(HitRecord.post_id.in_(posts)).order_by(HitRecord.id))
        )
        listed = list_hits(session, HitFilters(incident=incident))
        paged = list(iter_hits(session, HitFilters(incident=incident), page=3))
        after = list(iter_hits(session, HitFilters(incident=incident, limit=4), page=3, after=expected[2]))
    assert len(posts) == 2
    assert len(expected) == 10
    assert [row["hit_id"] for row in listed] == expected
    assert paged == listed
    assert {row["incident_id"] for row in listed} == {incident}
    assert [row["hit_id"] for row in after] == expected[3:7]


def _plan(session: Session, statement: Select[Any]) -> str:
    sql = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return "\n".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


# SQLite only (no skip on PostgreSQL): EXPLAIN QUERY PLAN is SQLite's, and PostgreSQL's planner is left to choose.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_big_incident_page_walks_hits_by_id_without_sorting_the_incident(db: Db) -> None:
    incident = _world_with_an_incident(db)
    with db.sessions() as session:
        page = HitFilters(incident=incident)
        big = _plan(session, hitviews._statement(page, big_incident=True).where(HitRecord.id > 0).limit(50))
        small = _plan(session, hitviews._statement(page).where(HitRecord.id > 0).limit(50))
    assert "TEMP B-TREE FOR ORDER BY" not in big, big
    assert "USING INTEGER PRIMARY KEY" in big, big
    assert "TEMP B-TREE FOR ORDER BY" in small, small  # what every page of a big incident used to do
