"""Fixture data for the CLI tests: one leak reposted across two venues, and an unrelated ad."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.world import SECRET_VALUES, Db

FILE = "ab" * 32


@dataclass(frozen=True)
class Seeded:
    leak_post: int
    repost: int
    ad_post: int
    incident: int
    ad_incident: int
    hit: int


def seed(db: Db) -> Seeded:
    long_ago = datetime.now(UTC) - timedelta(days=5)
    with db.world() as w:
        leak = w.post(
            "kr_db_market",
            "4521",
            title='=HYPERLINK("http://evil.example") 고객 디비 팝니다',
            author="@seller_kr",
            extra={"chat_id": -1001234567890},
            files=[("sample.csv", FILE)],
            at=long_ago,
        )
        hits = [
            w.hit(leak, f"cust-{i:03d}", t, attachment_sha256=FILE, label=f"{SECRET_VALUES[0]}:{i}:{t}")
            for i in range(5)
            for t in ("name", "phone")
        ]
        hits.append(w.hit(leak, "cust-000", "rrn", attachment_sha256=FILE, label=SECRET_VALUES[1]))
        w.ingest(leak, hits)
        repost = w.post("dark_forum", "t-88", venue="forum", files=[("sample.csv", FILE)], at=long_ago)
        w.ingest(repost, [w.hit(repost, "cust-001", "phone", attachment_sha256=FILE)])
        ad = w.post("ads_channel", "7", trade_score=0.9, author="@other", at=datetime.now(UTC))
        ad_hit = w.hit(ad, "cust-900", "phone", confidence=0.8)
        w.ingest(ad, [ad_hit])
        incident = incident_of_post(w.session, leak.id)
        ad_incident = incident_of_post(w.session, ad.id)
        assert incident is not None
        assert ad_incident is not None
        return Seeded(leak.id, repost.id, ad.id, incident, ad_incident, hits[0].id)
