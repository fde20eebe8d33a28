"""The one ingest sink every venue hands posts to.

``analyze`` does the slow part outside any transaction: read attachments through the leaked-files
reader, match the post text and every file, and spool the hit rows to a temporary file as each
block is matched (memory does not grow with the number of hits). ``store`` then writes, in ONE
transaction: the post (text only encrypted, or not at all), its attachments' metadata, its hits
(bulk upserts on (post, type, form, digest, subject), batch by batch from the spool), findings,
the checkpoint, and the post-ingest hooks (incidents, in SQL).

Crash safety (docs/sizing.md): one post, however big its file, is one transaction. A crash or
SIGKILL before the commit leaves nothing of it; the re-run reads the file again and stores exactly
what a clean run stores. A resume point inside a file was not chosen: re-reading costs minutes at
most, while batches committed separately would leave a half-stored post visible to the incident
workflow and need a second identity for "how far".
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawlers.files import ReadLimits, passwords_from_text, read_attachment
from crawlers.hitspool import HitSpool
from crawlers.interface import CheckpointUpdate, IngestResult
from crawlers.model import Attachment, CrawledPost, Finding, TextBlock, content_hash_of
from crawlers.parallel import ScanItem, scan_items
from crawlers.redact import Redactor, redact, redact_finding
from matchers.engine import Matcher
from matchers.model import Explanation, Hit
from storage.evidence import EvidenceSealer
from storage.models.core import AttachmentRecord, Post
from storage.repositories.checkpoints import set_checkpoint
from storage.repositories.hits import HitRow, StoredHits, store_hits
from storage.repositories.posts import PostVersion, find_post, stored_content_hash, touch_post, upsert_post
from storage.repositories.runs import add_findings

PostHook = Callable[[Session, Post, StoredHits], None]
RemovedHook = Callable[[Session, Post], None]
TradeScorer = Callable[[str], tuple[float, tuple[str, ...]]]
#: A plaintext-free fingerprint of post text (e.g. a MinHash sketch) used to group untitled reposts.
Fingerprinter = Callable[[str], str]

#: Evidence files above this size are not kept (a finding says so).
MAX_EVIDENCE_FILE_BYTES = 64 * 1024 * 1024
_TITLE_MAX = 300
#: Attachments at least this big are scanned by the worker processes when ``jobs`` > 1.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024


class TextMatcher(Protocol):
    def scan_text(
        self,
        text: str,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        record_scope: str = "line",
    ) -> list[Hit]: ...


@dataclass(frozen=True, slots=True)
class LocatedHit:
    """A matcher hit with where it was found."""

    hit: Hit
    locator: str
    attachment_sha256: str | None


@dataclass(frozen=True, slots=True)
class FileOutcome:
    name: str
    sha256: str | None
    size: int | None
    status: str  # ok | partial | skipped | failed
    detected_type: str | None = None


@dataclass
class Analysis:
    """Everything learned about one post before it is stored."""

    post: CrawledPost
    content_hash: str = ""
    hits: HitSpool = field(default_factory=HitSpool)
    findings: list[Finding] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)
    trade_score: float | None = None
    trade_terms: tuple[str, ...] = ()
    text_signature: str | None = None
    stored_at: datetime | None = None  # when ``store`` wrote it: the ``last_seen`` of its hits

    @property
    def status(self) -> str:
        """``partial`` when any file was not read whole, else ``ok``."""
        return "ok" if all(f.status == "ok" for f in self.files) else "partial"


class IngestSink:
    """Implements :class:`crawlers.interface.PostSink` on top of the database and the matcher."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        matcher: TextMatcher,
        *,
        sealer: EvidenceSealer | None = None,
        store_post_text: bool = True,
        store_files: bool = False,
        evidence_dir: Path | None = None,
        read_limits: ReadLimits | None = None,
        trade_scorer: TradeScorer | None = None,
        fingerprinter: Fingerprinter | None = None,
        post_hooks: Sequence[PostHook] = (),
        removed_hooks: Sequence[RemovedHook] = (),
        run_id: int | None = None,
        jobs: int = 1,
        redactor: Redactor | None = None,
        spool_dir: Path | None = None,
        on_block: Callable[[TextBlock], None] | None = None,
    ) -> None:
        if (store_post_text or store_files) and sealer is None:
            raise ValueError("storing evidence needs an evidence key (sealer)")
        self.sessions = sessions
        self.matcher = matcher
        self.sealer = sealer
        self.store_post_text = store_post_text
        self.store_files = store_files
        self.evidence_dir = evidence_dir
        self.read_limits = read_limits or ReadLimits()
        self.trade_scorer = trade_scorer
        self.fingerprinter = fingerprinter
        self.post_hooks = tuple(post_hooks)
        self.removed_hooks = tuple(removed_hooks)
        self.run_id = run_id
        self.jobs = max(1, jobs)
        #: The one redaction rule, applied to every crawled string before it is stored or returned.
        self.redactor = redactor or Redactor()
        self.spool_dir = spool_dir
        self.on_block = on_block  # progress: called after each block of a file is matched

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
        if self._unchanged(post, content_hash):
            with self.sessions.begin() as session:
                stored = self._touch(session, post)
                if checkpoint is not None:
                    set_checkpoint(session, checkpoint.scope, checkpoint.key, checkpoint.value)
                if findings:
                    add_findings(session, post.source, _rows(findings), post_id=stored.id, run_id=self.run_id)
            return IngestResult(post_id=stored.id, status="unchanged", findings=findings)
        analysis = self.analyze(post, passwords=passwords, content_hash=content_hash)
        with analysis.hits:
            analysis.findings.extend(findings)
            return self.store(analysis, checkpoint=checkpoint)

    def record_removed(self, source: str, external_id: str) -> bool:
        external_id = self.redactor.ref(external_id)
        with self.sessions.begin() as session:
            post = find_post(session, source, external_id)
            if post is None or post.removed_at is not None:
                return False
            post.removed_at = datetime.now(UTC)
            for hook in self.removed_hooks:
                hook(session, post)
            return True

    def record_findings(self, source: str, findings: tuple[Finding, ...]) -> None:
        if findings:
            with self.sessions.begin() as session:
                add_findings(session, source, _rows(findings), run_id=self.run_id)

    # -- the two halves ----------------------------------------------------------------------------

    def analyze(self, post: CrawledPost, *, passwords: Sequence[str] = (), content_hash: str | None = None) -> Analysis:
        """Read and match the post and its files (no database writes).

        Without ``content_hash`` it is computed from the SHA-256 the reader took while reading each
        file, so a big file is not read a second time just to hash it.
        """
        post = self.redactor.post(post)
        analysis = Analysis(post=post, hits=HitSpool(directory=self.spool_dir))
        if post.text:
            located = (
                LocatedHit(h, f"text:line {h.line + 1}", None)
                for h in self.matcher.scan_text(post.text, record_scope="all")
            )
            analysis.hits.add(hit_rows(located, post.source))
            if self.trade_scorer is not None:
                analysis.trade_score, analysis.trade_terms = self.trade_scorer(post.text)
            if self.fingerprinter is not None:
                analysis.text_signature = self.fingerprinter(post.text) or None
        candidates = tuple(dict.fromkeys([*passwords, *passwords_from_text(post.text)]))
        for attachment in post.attachments:
            self._analyze_attachment(analysis, attachment, candidates)
        analysis.content_hash = content_hash or content_hash_of(
            post.text,
            [
                outcome.sha256 or attachment.sha256() or attachment.name
                for attachment, outcome in zip(post.attachments, analysis.files, strict=True)
            ],
        )
        return analysis

    def store(self, analysis: Analysis, *, checkpoint: CheckpointUpdate | None = None) -> IngestResult:
        """Write the analysed post, its hits and the checkpoint in one transaction."""
        post = analysis.post
        analysis.findings = [redact_finding(f) for f in analysis.findings]
        now = analysis.stored_at = datetime.now(UTC)
        with self.sessions.begin() as session:
            stored, status = self._upsert_post(session, analysis, now)
            self._store_attachments(session, stored, analysis, now)
            hits = store_hits(session, stored.id, analysis.hits.batches(), now)
            if analysis.findings:
                add_findings(session, post.source, _rows(analysis.findings), post_id=stored.id, run_id=self.run_id)
            if checkpoint is not None:
                set_checkpoint(session, checkpoint.scope, checkpoint.key, checkpoint.value)
            for hook in self.post_hooks:
                hook(session, stored, hits)
            post_id = stored.id
        return IngestResult(
            post_id=post_id,
            status=status,
            hits=hits.total,
            new_hits=hits.new,
            findings=tuple(analysis.findings),
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _unchanged(self, post: CrawledPost, content_hash: str) -> bool:
        with self.sessions() as session:
            return stored_content_hash(session, post.source, post.external_id) == content_hash

    def _touch(self, session: Session, post: CrawledPost) -> Post:
        return touch_post(session, post.source, post.external_id, post.captured_at)

    def _analyze_attachment(self, analysis: Analysis, attachment: Attachment, passwords: Sequence[str]) -> None:
        if attachment.skipped_reason:
            analysis.findings.append(Finding(attachment.name, "not_fetched", attachment.skipped_reason))
            analysis.files.append(FileOutcome(attachment.name, None, attachment.declared_size, "skipped"))
            return
        # Sender file names are untrusted: only the last path component names the locator root.
        safe = replace(attachment, name=PurePosixPath(attachment.name.replace("\\", "/")).name or "attachment")
        token = analysis.hits.file_token()  # the file's SHA-256 is known once it is read whole
        source = analysis.post.source
        with read_attachment(safe, limits=self.read_limits, passwords=passwords) as reading:
            for block, hits in self._scan_reading(reading, analysis, _size(attachment)):
                analysis.hits.add(hit_rows((LocatedHit(h, block.locate(h.line), token) for h in hits), source))
                if self.on_block is not None:
                    self.on_block(block)
        report = reading.report
        analysis.hits.resolve_file(token, report.sha256)
        analysis.files.append(
            FileOutcome(attachment.name, report.sha256, report.size, report.status, report.detected_type)
        )

    def _scan_reading(
        self, reading: Iterable[TextBlock | Finding], analysis: Analysis, size: int | None
    ) -> Iterator[tuple[TextBlock, list[Hit]]]:
        """Blocks with their hits, in order; big files are scanned by ``jobs`` worker processes."""
        if self.jobs == 1 or not isinstance(self.matcher, Matcher) or (size or 0) < PARALLEL_MIN_BYTES:
            for item in reading:
                if isinstance(item, Finding):
                    analysis.findings.append(item)
                else:
                    yield item, self._scan_block(item)
            return
        in_flight: deque[TextBlock] = deque()

        def items() -> Iterator[ScanItem]:
            for item in reading:
                if isinstance(item, Finding):
                    analysis.findings.append(item)
                    continue
                in_flight.append(item)
                yield item.text, item.columns, item.delimiter, "line"

        for hits in scan_items(self.matcher, items(), jobs=self.jobs):
            yield in_flight.popleft(), hits

    def _scan_block(self, block: TextBlock) -> list[Hit]:
        return self.matcher.scan_text(block.text, columns=block.columns, delimiter=block.delimiter, record_scope="line")

    def _upsert_post(self, session: Session, analysis: Analysis, now: datetime) -> tuple[Post, str]:
        post = analysis.post
        extra = dict(post.extra)
        if analysis.text_signature:
            extra["text_signature"] = analysis.text_signature
        version = PostVersion(
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
        stored, status = upsert_post(session, post.source, post.external_id, version)
        if self.store_post_text and post.text and self.sealer is not None:
            stored.text_ciphertext = self.sealer.seal(post.text.encode(), f"post:{stored.id}")
            stored.text_key_id = self.sealer.key_id
        else:
            stored.text_ciphertext = None
            stored.text_key_id = None
        return stored, status

    def _store_attachments(self, session: Session, stored: Post, analysis: Analysis, now: datetime) -> None:
        existing = {
            (row.sha256, row.name)
            for row in session.scalars(select(AttachmentRecord).where(AttachmentRecord.post_id == stored.id))
        }
        for attachment, outcome in zip(analysis.post.attachments, analysis.files, strict=True):
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
            self._keep_evidence(record, attachment, analysis, now)
            session.add(record)

    def _keep_evidence(
        self, record: AttachmentRecord, attachment: Attachment, analysis: Analysis, now: datetime
    ) -> None:
        if not self.store_files or self.sealer is None or self.evidence_dir is None:
            return
        if (record.size or 0) > MAX_EVIDENCE_FILE_BYTES:
            analysis.findings.append(
                Finding(record.name, "evidence_not_kept", f"file over {MAX_EVIDENCE_FILE_BYTES} bytes")
            )
            return
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        target = self.evidence_dir / f"{record.sha256}.sealed"
        if not target.exists():
            sealed = self.sealer.seal(attachment.open_bytes(), f"file:{record.sha256}")
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(sealed)
            tmp.replace(target)
        record.evidence_path = str(target)
        record.evidence_key_id = self.sealer.key_id
        record.stored_at = now


def _size(attachment: Attachment) -> int | None:
    if attachment.data is not None:
        return len(attachment.data)
    try:
        return attachment.path.stat().st_size if attachment.path is not None else None
    except OSError:
        return None


def hit_rows(located: Iterable[LocatedHit], source: str) -> Iterator[HitRow]:
    """Stored rows of matcher hits: one per (type, form, digest, subject slot).

    Exact and composite hits give one row per subject holding the digest; a partial hit (a masked
    value compatible with several subjects) is one row with no subject and the compatible count.
    Rows of one identity are merged later, the most confident winning (spool batches, then the
    database upsert).
    """
    rendered: dict[Explanation | None, str] = {}
    for item in located:
        hit = item.hit
        subjects: Sequence[int | None] = (None,) if hit.match_kind == "partial" else hit.subject_ids
        locator = redact(item.locator)[:2048]
        explanation = rendered.get(hit.explanation)
        if explanation is None:
            explanation = rendered[hit.explanation] = json.dumps(_explanation(hit), ensure_ascii=False)
        for subject_id in subjects:
            yield HitRow(
                attachment_sha256=item.attachment_sha256,
                source=source,
                locator=locator,
                id_type=hit.id_type,
                form=hit.form,
                digest=hit.digest,
                key_id=hit.key_id,
                subject_id=subject_id,
                subject_slot=subject_id or 0,
                compatible_subjects=len(hit.subject_ids),
                match_kind=hit.match_kind,
                obfuscation=hit.obfuscation_label,
                confidence=hit.confidence,
                masked=hit.masked[:255],
                explanation=explanation,
            )


def _explanation(hit: Hit) -> dict[str, object]:
    explanation = hit.explanation
    if explanation is None:
        return {}
    return {
        "extractor": explanation.extractor,
        "validation": explanation.validation,
        "context": list(explanation.context),
        "reasons": list(explanation.reasons),
    }


def _rows(findings: Sequence[Finding]) -> list[tuple[str, str, str]]:
    return [(redact(f.locator), f.kind, redact(f.reason)) for f in findings]


def _redact_title(title: str | None) -> str | None:
    if not title:
        return title
    return redact(title)[:_TITLE_MAX]
