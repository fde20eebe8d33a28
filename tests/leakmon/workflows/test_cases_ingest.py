"""End to end through the real ingest sink and matcher: hooks group reposts, score trade posts, and
record removals; nothing exported carries a plaintext identifier."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawlers.analyzer import AnalysisOptions, Analyzer
from crawlers.ingest import IngestPolicy, IngestSink
from crawlers.model import Attachment, CrawledPost
from leakmon.settings import Settings
from leakmon.workflows import drafts, takedown
from leakmon.workflows.affected import COLUMNS, affected_rows, select_incidents
from leakmon.workflows.incidents import on_post_ingested, on_post_removed
from leakmon.workflows.tables import write_rows
from matchers.trade import trade_score
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.cases import Incident, IncidentPost, TakedownCase
from storage.models.core import Post
from storage.repositories.hits import StoredHits
from tests.live_set import load_protected_matcher

PEOPLE = {f"cust-{i}": (f"010-5{i:03d}-{7000 + i}", f"user{i}@naver.com") for i in range(6)}


@dataclass
class Live:
    sessions: sessionmaker[Session]
    sink: IngestSink


@pytest.fixture
def live(db_url: str) -> Iterator[Live]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    matcher = load_protected_matcher(sessions, PEOPLE)

    settings = Settings(alerts={"min_confidence": 0.0})

    def hook(session: Session, post: Post, hits: StoredHits) -> None:
        on_post_ingested(session, post, hits, settings=settings)

    def score(text: str) -> tuple[float, tuple[str, ...]]:
        result = trade_score(text)
        return result.score, result.terms

    sink = IngestSink(
        sessions,
        Analyzer(matcher, AnalysisOptions(trade_scorer=score)),
        IngestPolicy(post_hooks=(hook,), removed_hooks=(on_post_removed,)),
    )
    yield Live(sessions, sink)
    engine.dispose()


def _sample() -> bytes:
    lines = ["name,phone,email"] + [f"고객{i},{p},{e}" for i, (p, e) in enumerate(PEOPLE.values())]
    return "\n".join(lines).encode()


def test_reposted_sample_is_one_incident_and_exports_hold_no_values(live: Live) -> None:
    sample = Attachment("sample.csv", data=_sample())
    live.sink.ingest(
        CrawledPost(
            "kr_db_market", "-100123/45", "telegram", text="풀디비 샘플 팝니다 텔레 문의", attachments=(sample,)
        )
    )
    live.sink.ingest(
        CrawledPost(
            "dark_forum",
            "t/88",
            "forum",
            text="자료 공유합니다",
            url="https://forum.example/t/88",
            attachments=(sample,),
        )
    )
    live.sink.ingest(CrawledPost("cafe", "c1", "forum", text="오늘 점심 메뉴 추천 부탁드립니다"))
    with live.sessions() as session:
        memberships = list(session.scalars(select(IncidentPost)))
        incidents = list(session.scalars(select(Incident).where(Incident.status == "open")))
        market = session.scalars(select(Post).where(Post.source == "kr_db_market")).one()
        assert market.trade_score is not None
        assert market.trade_score > 0.8
    assert len(memberships) == 2
    assert len(incidents) == 1
    assert incidents[0].subject_count == len(PEOPLE)
    assert incidents[0].id_types == "email,phone"
    with live.sessions.begin() as session:
        rows = affected_rows(session, select_incidents(session, incident_id=incidents[0].id))
        out = io.StringIO()
        write_rows([{c: getattr(r, c) for c in COLUMNS} for r in rows], COLUMNS, "jsonl", None, out)
        case, _ = takedown.open_case(session, market.id, actor="alice")
        draft = drafts.render(session, case.id, "telegram")
    for phone, email in PEOPLE.values():
        for value in (phone, phone.replace("-", ""), email):
            assert value not in out.getvalue()
            assert value not in draft
    assert out.getvalue().count("email+phone") == len(PEOPLE)


def test_removal_seen_by_the_sink_closes_the_case(live: Live) -> None:
    phone = next(iter(PEOPLE.values()))[0]
    live.sink.ingest(CrawledPost("kr_db_market", "9", "telegram", text=f"디비 팝니다 {phone}"))
    with live.sessions.begin() as session:
        post = session.scalars(select(Post)).one()
        case, _ = takedown.open_case(session, post.id, actor="alice")
        takedown.set_state(session, case.id, "requested", actor="alice")
    assert live.sink.record_removed("kr_db_market", "9")
    with live.sessions() as session:
        assert session.scalars(select(TakedownCase)).one().state == "removed"
