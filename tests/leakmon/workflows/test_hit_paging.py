"""Hit listings page through the database by id: every row once, in id order, limits respected."""

from __future__ import annotations

from leakmon.workflows.hitviews import HitFilters, iter_hits, list_hits
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
