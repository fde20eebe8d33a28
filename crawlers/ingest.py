"""The one ingest sink every venue hands posts to: it frames the write transaction, nothing more.

Reading and matching is :class:`crawlers.analyzer.Analyzer` (outside any transaction), posts are
``storage.repositories.posts``, hits ``storage.repositories.hits``, sealed files
:class:`storage.evidence.EvidenceStore`; what is kept and who is told is one frozen
:class:`IngestPolicy`.

``ingest`` first asks, in a write transaction, whether the stored version has the same content
hash; if so it touches the post (and the checkpoint and findings) in that same transaction and
stops. Otherwise the post is analysed, its files sealed to disk, and ``store`` writes in ONE
transaction: the post (text only encrypted, or not at all), its attachments' metadata, its hits
(bulk upserts, batch by batch from the spool), findings, the checkpoint and the post-ingest hooks.

``analyze_and_store`` (``scan``) does both; with worker processes (``--jobs`` > 1) it opens the
transaction first and upserts each batch of hits as the analyzer cuts it, while the workers go on
matching: the same rows in the same batches and order, the same one transaction.

Crash safety (docs/crash-safety.md): one post, however big its file, is one transaction. A crash or
SIGKILL before the commit leaves nothing of it in the database; the re-run reads the file again and
stores exactly what a clean run stores. Sealed files are written before the transaction and never
deleted on rollback (see :class:`storage.evidence.EvidenceStore`): at worst a sealed file no row
points to yet, which the re-run adopts.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawlers.analyzer import Analysis, Analyzer
from crawlers.interface import CheckpointUpdate, IngestResult
from crawlers.model import CrawledPost, Finding, FindingKind
from crawlers.redact import Redactor, redact, redact_finding
from storage.evidence import EvidenceSealer, EvidenceStore, KeptFile
from storage.models.core import AttachmentRecord, Post
from storage.models.vocab import PostChange
from storage.repositories.checkpoints import set_checkpoint
from storage.repositories.hits import HitRow, StoredHits, store_hits
from storage.repositories.posts import PostVersion, find_post, touch_post, upsert_post
from storage.repositories.runs import add_findings

PostHook = Callable[[Session, Post, StoredHits], None]
RemovedHook = Callable[[Session, Post], None]

#: Evidence files above this size are not kept (a finding says so).
MAX_EVIDENCE_FILE_BYTES = 64 * 1024 * 1024
_TITLE_MAX = 300


@dataclass(frozen=True, slots=True)
class IngestPolicy:
    """What the sink keeps and whom it tells; one frozen value for a whole run.

    ``text_sealer``: post text is stored sealed under it (no sealer: text is not stored).
    ``evidence``: attachment files are kept sealed there (none: files are not kept).
    """

    text_sealer: EvidenceSealer | None = None
    evidence: EvidenceStore | None = None
    post_hooks: tuple[PostHook, ...] = ()
    removed_hooks: tuple[RemovedHook, ...] = ()
    run_id: int | None = None


class IngestSink:
    """Implements :class:`crawlers.interface.PostSink` on top of the database and an analyzer."""

    def __init__(self, sessions: sessionmaker[Session], analyzer: Analyzer, policy: IngestPolicy | None = None) -> None:
        self.sessions = sessions
        self.analyzer = analyzer
        self.policy = policy or IngestPolicy()

    @property
    def redactor(self) -> Redactor:
        """The one redaction rule, applied to every crawled string before it is stored or returned."""
        return self.analyzer.options.redactor

    # -- PostSink -------------------------------------------------------------------------------

    def ingest(
        self,
        post: CrawledPost,
        *,
        checkpoint: CheckpointUpdate | None = None,
        passwords: tuple[str, ...] = (),
        findings: tuple[Finding, ...] = (),
    ) -> IngestResult:
        post = self.redactor.post(post)
        findings = tuple(redact_finding(f) for f in findings)
        content_hash = post.content_hash()
        with self.sessions.begin() as session:  # "unchanged?" and the touch: one write transaction
            stored = find_post(session, post.source, post.external_id)
            if stored is not None and stored.content_hash == content_hash:
                return self._unchanged(session, stored, post, checkpoint, findings)
        analysis = self.analyze(post, passwords=passwords, content_hash=content_hash)
        with analysis.hits:
            analysis.findings.extend(findings)
            return self.store(analysis, checkpoint=checkpoint, if_changed=True)

    def record_removed(self, source: str, external_id: str) -> bool:
        external_id = self.redactor.ref(external_id)
        with self.sessions.begin() as session:
            post = find_post(session, source, external_id)
            if post is None or post.removed_at is not None:
                return False
            post.removed_at = datetime.now(UTC)
            for hook in self.policy.removed_hooks:
                hook(session, post)
            return True

    def record_findings(self, source: str, findings: tuple[Finding, ...]) -> None:
        if findings:
            with self.sessions.begin() as session:
                add_findings(session, source, _rows(findings), run_id=self.policy.run_id)

    # -- the two halves ----------------------------------------------------------------------------

    def analyze(self, post: CrawledPost, *, passwords: Sequence[str] = (), content_hash: str | None = None) -> Analysis:
        """Read and match the post and its files (no database writes); see :class:`Analyzer`."""
        return self.analyzer.analyze(post, passwords=passwords, content_hash=content_hash)

    def store(
        self, analysis: Analysis, *, checkpoint: CheckpointUpdate | None = None, if_changed: bool = False
    ) -> IngestResult:
        """Write the analysed post, its hits and the checkpoint in one transaction.

        With ``if_changed``, a stored version with the same content hash (written by another writer
        since ``ingest`` looked) is only touched, in this same transaction.
        """
        post = analysis.post
        analysis.findings = [redact_finding(f) for f in analysis.findings]
        kept = self._keep_files(analysis)  # before the transaction: see EvidenceStore
        now = analysis.stored_at = datetime.now(UTC)
        with young_collections_only(), self.sessions.begin() as session:
            existing = find_post(session, post.source, post.external_id)
            if if_changed and existing is not None and existing.content_hash == analysis.content_hash:
                return self._unchanged(session, existing, post, checkpoint, tuple(analysis.findings))
            stored, status = upsert_post(session, existing, post.source, post.external_id, _version(analysis))
            hits = store_hits(session, stored.id, collected(analysis.hits.batches()), now)
            return self._finish(session, stored, status, analysis, hits, kept, checkpoint)

    @property
    def stores_live(self) -> bool:
        """True when :meth:`analyze_and_store` stores hits while worker processes match (``--jobs`` > 1)."""
        return getattr(self.analyzer.parallel, "jobs", 1) > 1

    def analyze_and_store(
        self, post: CrawledPost, *, passwords: Sequence[str] = (), checkpoint: CheckpointUpdate | None = None
    ) -> tuple[Analysis, IngestResult]:
        """:meth:`analyze` then :meth:`store`, the hits stored as they are matched when :attr:`stores_live`.

        Live, the one transaction opens first: the post is written (its content hash and status
        once its files are read), then every batch of hits is upserted as the analyzer cuts it
        while the workers go on matching, then the rest as :meth:`store` writes it; evidence files
        are sealed inside the transaction, before the commit (the same guarantee: at worst a
        sealed file no row points to). A crash before the commit leaves nothing, as before; the
        batches are those :meth:`store` would store, in the same order. The caller closes
        ``analysis.hits``.
        """
        if not self.stores_live:
            analysis = self.analyze(post, passwords=passwords)
            try:
                return analysis, self.store(analysis, checkpoint=checkpoint)
            except BaseException:
                analysis.hits.close()
                raise
        analysis, batches = self.analyzer.analyze_live(post, passwords=passwords)
        try:
            now = analysis.stored_at = datetime.now(UTC)
            post = analysis.post
            with young_collections_only(), self.sessions.begin() as session:
                existing = find_post(session, post.source, post.external_id)
                # content hash and status are known once the files are read, before the commit
                stored, status = upsert_post(session, existing, post.source, post.external_id, _version(analysis))
                hits = store_hits(session, stored.id, collected(batches), now)
                stored.content_hash = analysis.content_hash
                stored.status = analysis.status
                analysis.findings = [redact_finding(f) for f in analysis.findings]
                kept = self._keep_files(analysis)
                return analysis, self._finish(session, stored, status, analysis, hits, kept, checkpoint)
        except BaseException:
            analysis.hits.close()
            raise

    def _finish(
        self,
        session: Session,
        stored: Post,
        status: PostChange,
        analysis: Analysis,
        hits: StoredHits,
        kept: dict[str, KeptFile],
        checkpoint: CheckpointUpdate | None,
    ) -> IngestResult:
        """The rest of a post's one transaction once its hits are stored: text, files, findings, hooks."""
        post = analysis.post
        self._seal_text(stored, post.text)
        self._store_attachments(session, stored, analysis, kept, analysis.stored_at or datetime.now(UTC))
        if analysis.findings:
            add_findings(session, post.source, _rows(analysis.findings), post_id=stored.id, run_id=self.policy.run_id)
        if checkpoint is not None:
            set_checkpoint(session, checkpoint.scope, checkpoint.key, checkpoint.value)
        for hook in self.policy.post_hooks:
            hook(session, stored, hits)
        return IngestResult(
            post_id=stored.id,
            status=status,
            hits=hits.total,
            new_hits=hits.new,
            findings=tuple(analysis.findings),
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _unchanged(
        self,
        session: Session,
        stored: Post,
        post: CrawledPost,
        checkpoint: CheckpointUpdate | None,
        findings: tuple[Finding, ...],
    ) -> IngestResult:
        touch_post(stored, post.captured_at)
        if checkpoint is not None:
            set_checkpoint(session, checkpoint.scope, checkpoint.key, checkpoint.value)
        if findings:
            add_findings(session, post.source, _rows(findings), post_id=stored.id, run_id=self.policy.run_id)
        return IngestResult(post_id=stored.id, status=PostChange.UNCHANGED, findings=findings)

    def _seal_text(self, stored: Post, text: str) -> None:
        sealer = self.policy.text_sealer
        if sealer is not None and text:
            stored.text_ciphertext = sealer.seal(text.encode(), f"post:{stored.id}")
            stored.text_key_id = sealer.key_id
        else:
            stored.text_ciphertext = None
            stored.text_key_id = None

    def _keep_files(self, analysis: Analysis) -> dict[str, KeptFile]:
        """Seal the post's files (within the size cap) to the evidence store: SHA-256 -> where."""
        store = self.policy.evidence
        if store is None:
            return {}
        kept: dict[str, KeptFile] = {}
        for attachment, outcome in zip(analysis.post.attachments, analysis.files, strict=True):
            sha256 = outcome.sha256
            if sha256 is None or sha256 in kept or (outcome.size or 0) > store.max_bytes:
                continue
            kept[sha256] = store.keep(sha256, attachment.open_bytes)
        return kept

    def _store_attachments(
        self, session: Session, stored: Post, analysis: Analysis, kept: dict[str, KeptFile], now: datetime
    ) -> None:
        existing = {
            (row.sha256, row.name)
            for row in session.scalars(select(AttachmentRecord).where(AttachmentRecord.post_id == stored.id))
        }
        store = self.policy.evidence
        for outcome in analysis.files:
            if outcome.sha256 is None or (outcome.sha256, outcome.name) in existing:
                continue
            record = AttachmentRecord(
                post_id=stored.id,
                name=outcome.name[:1024],
                sha256=outcome.sha256,
                size=outcome.size,
                detected_type=outcome.detected_type,
                status=outcome.status,
            )
            if store is not None and (record.size or 0) > store.max_bytes:
                reason = f"file over {store.max_bytes} bytes"
                analysis.findings.append(Finding(record.name, FindingKind.EVIDENCE_NOT_KEPT, reason))
            elif outcome.sha256 in kept:
                record.evidence_path = str(kept[outcome.sha256].path)
                record.evidence_key_id = kept[outcome.sha256].key_id
                record.stored_at = now
            session.add(record)


#: The oldest generation's threshold while a post is stored: no full collection runs.
_NO_FULL_COLLECTION = 1 << 30


@contextmanager
def young_collections_only() -> Iterator[None]:
    """The garbage collector's full (oldest-generation) collections deferred while a post is stored.

    A dump's hits pass through in batches of tens of thousands of rows that live a batch or two:
    they reach the oldest generation, and each full collection then walked them and everything the
    process holds (about 20 a 400k-hit file: 1-1.9 of the parent's 11-13 CPU s at 100k rows,
    ``scan --jobs 2``). Young collections still run; the store runs one full collection every
    :data:`FULL_COLLECTION_BATCHES` batches (:func:`collected`), since some of a batch's rows are
    held by a reference cycle until one runs (with none at all, 400k hits grew the peak RSS by
    106 MB). The thresholds are restored on the way out, error or not.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_FULL_COLLECTION)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


#: Batches stored between two full collections (see :func:`young_collections_only`): the garbage
#: they leave in cycles, about 8 MB a batch, is bounded by it.
FULL_COLLECTION_BATCHES = 5


def collected(batches: Iterable[Sequence[HitRow]]) -> Iterator[Sequence[HitRow]]:
    """The batches as given, one full collection after every :data:`FULL_COLLECTION_BATCHES`."""
    for taken, batch in enumerate(batches, 1):
        yield batch
        if taken % FULL_COLLECTION_BATCHES == 0:
            gc.collect()


def _version(analysis: Analysis) -> PostVersion:
    post = analysis.post
    extra = dict(post.extra)
    if analysis.text_signature:
        extra["text_signature"] = analysis.text_signature
    return PostVersion(
        venue=post.venue,
        url=post.url,
        title=_redact_title(post.title),
        author=post.author,
        posted_at=post.posted_at,
        edited_at=post.edited_at,
        captured_at=post.captured_at,
        content_hash=analysis.content_hash,
        status=analysis.status,
        text_length=len(post.text),
        trade_score=analysis.trade_score,
        trade_terms=analysis.trade_terms,
        extra=extra,
    )


def _rows(findings: Sequence[Finding]) -> list[tuple[str, str, str]]:
    return [(redact(f.locator), f.kind, redact(f.reason)) for f in findings]


def _redact_title(title: str | None) -> str | None:
    if not title:
        return title
    return redact(title)[:_TITLE_MAX]
