"""The ingest sink: one transaction per post, unchanged reposts skipped, crashes leave nothing, evidence sealed."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawlers.analyzer import AnalysisOptions, Analyzer
from crawlers.ingest import MAX_EVIDENCE_FILE_BYTES, IngestPolicy, IngestSink
from crawlers.interface import CheckpointUpdate
from crawlers.model import Attachment, CrawledPost, Finding
from matchers.engine import Matcher
from matchers.model import Hit
from storage.db import make_engine, make_sessionmaker
from storage.evidence import EvidenceError, EvidenceSealer, EvidenceStore
from storage.migrate import upgrade
from storage.models.core import AttachmentRecord, FindingRecord, HitRecord, Post
from storage.repositories.checkpoints import get_checkpoint
from tests.live_set import load_protected_matcher

PEOPLE = {"cust-1": ("010-3141-5926", "pi@naver.com"), "cust-2": ("010-2718-2818", "e@gmail.com")}


@dataclass
class World:
    sessions: sessionmaker[Session]
    sink: IngestSink
    sealer: EvidenceSealer


@pytest.fixture
def world(db_url: str, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    matcher = load_protected_matcher(sessions, PEOPLE)
    sealer = EvidenceSealer("ev1", os.urandom(32))
    evidence = EvidenceStore(tmp_path / "ev", sealer, max_bytes=MAX_EVIDENCE_FILE_BYTES)
    sink = IngestSink(sessions, Analyzer(matcher), IngestPolicy(text_sealer=sealer, evidence=evidence))
    yield World(sessions, sink, sealer)
    engine.dispose()


def _post(text: str, *, external_id: str = "p1", attachments: tuple[Attachment, ...] = ()) -> CrawledPost:
    return CrawledPost(source="forum", external_id=external_id, venue="forum", text=text, attachments=attachments)


def _count(world: World, model: type) -> int:
    with world.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_hits_post_and_checkpoint_are_stored_together(world: World) -> None:
    result = world.sink.ingest(
        _post("DB 팝니다 샘플: 010-3141-5926 / e@gmail.com"), checkpoint=CheckpointUpdate("crawl", "forum", "p1")
    )
    assert result.status == "new"
    assert result.new_hits == 2
    with world.sessions() as session:
        hits = session.scalars(select(HitRecord)).all()
        assert {h.id_type for h in hits} == {"phone", "email"}
        assert get_checkpoint(session, "crawl", "forum") == "p1"


def test_unchanged_repost_is_not_rescanned_and_a_changed_one_adds_only_new_hits(world: World) -> None:
    world.sink.ingest(_post("010-3141-5926"))
    again = world.sink.ingest(_post("010-3141-5926"))
    assert again.status == "unchanged"
    assert _count(world, HitRecord) == 1
    edited = world.sink.ingest(_post("010-3141-5926 추가: pi@naver.com"))
    assert (edited.status, edited.new_hits, edited.hits) == ("changed", 1, 2)


def test_a_crash_inside_the_transaction_leaves_nothing(world: World) -> None:
    def boom(session, post, hits):  # type: ignore[no-untyped-def]
        raise RuntimeError("killed mid-store")

    policy = world.sink.policy
    world.sink.policy = replace(policy, post_hooks=(boom,))
    with pytest.raises(RuntimeError):
        world.sink.ingest(_post("010-3141-5926"), checkpoint=CheckpointUpdate("crawl", "forum", "p1"))
    assert (_count(world, Post), _count(world, HitRecord)) == (0, 0)
    with world.sessions() as session:
        assert get_checkpoint(session, "crawl", "forum") is None
    world.sink.policy = policy
    assert world.sink.ingest(_post("010-3141-5926")).new_hits == 1  # the rerun stores exactly the hit


def test_post_text_is_sealed_and_bound_to_its_row(world: World) -> None:
    world.sink.ingest(_post("연락처 010-3141-5926"))
    with world.sessions() as session:
        post = session.scalars(select(Post)).one()
        sealed = post.text_ciphertext
        assert sealed is not None
        assert b"3141" not in sealed
        assert world.sealer.open(sealed, f"post:{post.id}").decode() == "연락처 010-3141-5926"
        with pytest.raises(EvidenceError):
            world.sealer.open(sealed, f"post:{post.id + 1}")


def test_attachments_are_read_with_passwords_from_the_post(world: World) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/users.csv", "name,phone\n홍길동,010-2718-2818\n")
    attachment = Attachment(name="../../sample.zip", data=buffer.getvalue())
    result = world.sink.ingest(_post("샘플 첨부", attachments=(attachment,)))
    assert result.new_hits == 1
    with world.sessions() as session:
        hit = session.scalars(select(HitRecord)).one()
        record = session.scalars(select(AttachmentRecord)).one()
    assert hit.locator == "sample.zip!inner/users.csv:row 2"
    assert hit.attachment_sha256 == record.sha256
    assert record.evidence_path is not None
    assert b"2718" not in Path(record.evidence_path).read_bytes()


def test_findings_and_removals_are_recorded(world: World) -> None:
    world.sink.ingest(_post("hello"), findings=(Finding("https://forum/x", "http_error", "HTTP 500"),))
    world.sink.record_findings("forum", (Finding("forum", "dns_error", "no such host"),))
    assert _count(world, FindingRecord) == 2
    assert world.sink.record_removed("forum", "p1") is True
    assert world.sink.record_removed("forum", "p1") is False
    with world.sessions() as session:
        assert session.scalars(select(Post)).one().removed_at is not None


def test_identifier_shaped_titles_are_redacted(world: World) -> None:
    post = CrawledPost(source="forum", external_id="t", venue="forum", title="샘플 010-3141-5926 pi@naver.com 판매")
    world.sink.ingest(post)
    with world.sessions() as session:
        title = session.scalars(select(Post.title)).one()
    assert title == "샘플 [redacted] [redacted] 판매"


def test_parallel_scan_of_a_big_attachment_finds_the_same_hits(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import crawlers.analyzer as analyzer
    from crawlers.parallel import block_scanner

    monkeypatch.setattr(analyzer, "PARALLEL_MIN_BYTES", 1)
    rows = [f"user{i},010-{1000 + i % 9000:04d}-{i % 10000:04d}" for i in range(30_000)]
    rows[7_000] = "victim,010-3141-5926"
    rows[29_999] = "victim2,e@gmail.com"
    data = ("name,phone\n" + "\n".join(rows) + "\n").encode()
    options = AnalysisOptions(
        read_limits=world.sink.analyzer.options.read_limits.model_copy(update={"block_bytes": 64 * 1024})
    )
    matcher = world.sink.analyzer.matcher
    assert isinstance(matcher, Matcher)
    serial = Analyzer(matcher, options).analyze(_post("", attachments=(Attachment(name="big.csv", data=data),)))
    parallel_analyzer = Analyzer(matcher, options, parallel=block_scanner(matcher, 2))
    parallel = parallel_analyzer.analyze(_post("", attachments=(Attachment(name="big.csv", data=data),)))
    serial_rows = [row for batch in serial.hits.batches() for row in batch]
    parallel_rows = [row for batch in parallel.hits.batches() for row in batch]
    assert sorted(r.locator for r in serial_rows) == ["big.csv:row 30001", "big.csv:row 7002"]
    assert sorted((r.locator, r.digest) for r in parallel_rows) == sorted((r.locator, r.digest) for r in serial_rows)


def test_identifier_shaped_member_names_are_redacted_in_locators_and_findings(world: World) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("victim_010-2718-2818/users.csv", "name,phone\n홍길동,010-2718-2818\n")
        archive.writestr("pi@naver.com.txt", bytes(range(256)) * 50)  # binary under a text name
    world.sink.ingest(_post("", attachments=(Attachment(name="s.zip", data=buffer.getvalue()),)))
    with world.sessions() as session:
        locators = list(session.scalars(select(HitRecord.locator)))
        findings = [(f.locator, f.reason) for f in session.scalars(select(FindingRecord))]
    assert locators == ["s.zip!victim_[redacted]/users.csv:row 2"]
    assert any("[redacted]" in locator for locator, _ in findings)  # the binary member was skipped
    stored = " ".join(locators + [part for finding in findings for part in finding])
    assert "2718" not in stored
    assert "pi@naver.com" not in stored


def test_hash_taken_while_reading_equals_the_posts_content_hash(world: World, tmp_path: Path) -> None:
    path = tmp_path / "dump.csv"
    path.write_text("name,phone\n홍길동,010-2718-2818\n", encoding="utf-8")
    files = (Attachment(name="dump.csv", path=path), Attachment(name="gone", skipped_reason="x"))
    post = _post("샘플", attachments=files)
    assert world.sink.analyze(post).content_hash == post.content_hash()
    world.sink.store(world.sink.analyze(post))
    assert world.sink.ingest(post).status == "unchanged"


def _sample_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users.csv", "name,phone\n홍길동,010-2718-2818\n")
    return buffer.getvalue()


def test_a_rolled_back_post_loses_no_evidence_and_its_rerun_adopts_the_sealed_file(world: World) -> None:
    sample = Attachment(name="sample.zip", data=_sample_zip())
    world.sink.ingest(_post("첫 글", external_id="first", attachments=(sample,)))
    with world.sessions() as session:
        first = session.scalars(select(AttachmentRecord)).one()
    assert first.evidence_path is not None
    kept = Path(first.evidence_path)
    written = kept.stat().st_mtime_ns

    def boom(session, post, hits):  # type: ignore[no-untyped-def]
        raise RuntimeError("killed mid-store")

    policy = world.sink.policy
    world.sink.policy = replace(policy, post_hooks=(boom,))
    with pytest.raises(RuntimeError):
        world.sink.ingest(_post("재업로드", external_id="second", attachments=(sample,)))
    world.sink.policy = policy
    assert world.sealer.open(kept.read_bytes(), f"file:{first.sha256}") == sample.data  # still there, still opens
    world.sink.ingest(_post("재업로드", external_id="second", attachments=(sample,)))
    with world.sessions() as session:
        paths = {record.evidence_path for record in session.scalars(select(AttachmentRecord))}
    assert paths == {str(kept)}  # the rerun records the same sealed file
    assert kept.stat().st_mtime_ns == written  # written once
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]  # no temporary or orphan file


def test_unchanged_is_decided_in_the_write_transaction(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer stores the same version while this one reads it: this one only touches it."""
    post = _post("010-3141-5926")
    other = IngestSink(world.sessions, world.sink.analyzer, world.sink.policy)
    real = world.sink.analyzer.analyze

    def analyze(*args, **kwargs):  # type: ignore[no-untyped-def]
        analysis = real(*args, **kwargs)
        racing = real(post)
        with racing.hits:
            other.store(racing)
        return analysis

    monkeypatch.setattr(world.sink.analyzer, "analyze", analyze)
    result = world.sink.ingest(post)
    assert result.status == "unchanged"
    with world.sessions() as session:
        assert session.scalars(select(Post.versions)).one() == 1


class _BlockMatcher:
    """A matcher that is not ``matchers.engine.Matcher``: the analyzer uses only its protocol."""

    def __init__(self) -> None:
        self.blocks: list[bytes] = []

    def scan_text(self, text: str, **_: object) -> list[Hit]:
        return []

    def iter_hits(self, data: bytes, **_: object) -> Iterator[list[Hit]]:
        self.blocks.append(data)
        yield []


def test_the_analyzer_streams_each_block_through_iter_hits() -> None:
    matcher = _BlockMatcher()
    options = AnalysisOptions(read_limits=AnalysisOptions().read_limits.model_copy(update={"block_bytes": 1024}))
    rows = "".join(f"user{i},010-0000-{i:04d}\n" for i in range(400)).encode()
    analysis = Analyzer(matcher, options).analyze(_post("", attachments=(Attachment(name="u.csv", data=rows),)))
    analysis.hits.close()
    assert len(matcher.blocks) > 1
    assert b"\n".join(matcher.blocks).count(b"010-0000-") == 400  # every row, block by block


def test_a_post_is_stored_without_full_collections_and_the_thresholds_come_back(world: World) -> None:
    """Full (oldest-generation) collections are deferred while a post is stored, young ones run;
    the collector's thresholds are restored after a store, and after one that fails."""
    import gc

    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []

    def hook(session, post, hits):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())
        for _ in range(5):
            garbage = [[] for _ in range(5_000)]  # young collections run
            del garbage
        if post.external_id == "boom":
            raise RuntimeError("killed mid-store")

    policy = world.sink.policy
    world.sink.policy = replace(policy, post_hooks=(hook,))
    try:
        assert world.sink.ingest(_post("010-3141-5926")).new_hits == 1
        assert gc.get_threshold() == before
        with pytest.raises(RuntimeError):
            world.sink.ingest(_post("010-2718-2818", external_id="boom"))
        assert gc.get_threshold() == before
    finally:
        world.sink.policy = policy
    assert [t[:2] for t in seen] == [before[:2]] * 2  # young generations as they were
    assert all(t[2] > 1_000_000 for t in seen)  # no full collection while storing
    gc.collect()  # an explicit full collection is still possible


def test_a_full_collection_runs_every_few_batches_while_a_post_is_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deferred full collections still run every FULL_COLLECTION_BATCHES batches, so the garbage a
    batch leaves in reference cycles stays bounded whatever the number of hits."""
    import gc

    import crawlers.ingest as ingest

    monkeypatch.setattr(ingest, "FULL_COLLECTION_BATCHES", 2)
    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    batches = [[_row] for _row in range(5)]
    gc.callbacks.append(count)
    try:
        with ingest.young_collections_only():
            taken = list(ingest.collected(batches))  # type: ignore[arg-type]
    finally:
        gc.callbacks.remove(count)
    assert taken == batches
    assert len(full) == 2  # after the second and the fourth batch
