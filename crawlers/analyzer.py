"""Reading and matching one post, outside any transaction: the slow half of ingesting it.

The analyzer reads the post's attachments through the leaked-files reader, hands every
newline-aligned block to the matcher's streaming contract (``iter_hits``: one batch of hits per
block) and spools the hit rows to disk as each batch arrives, so memory does not grow with the
number of hits. It writes nothing to the database; :class:`crawlers.ingest.IngestSink` stores
what it learned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import NamedTuple, Protocol

from crawlers.files import ReadLimits, passwords_from_text, read_attachment
from crawlers.hitspool import HitSpool
from crawlers.model import Attachment, CrawledPost, Finding, FindingKind, TextBlock, content_hash_of
from crawlers.redact import Redactor, redact_locator
from matchers.model import OBF_NONE, PARTIAL, Explanation, Hit
from storage.hitrow import HitRow
from storage.models.vocab import AttachmentStatus, PostStatus

TradeScorer = Callable[[str], tuple[float, tuple[str, ...]]]
#: A plaintext-free fingerprint of post text (e.g. a MinHash sketch) used to group untitled reposts.
Fingerprinter = Callable[[str], str]
#: Attachments at least this big go to the parallel block scanner, when there is one: two ranges'
#: worth (a mass-breach dump's rows cost 3 CPU s per MB to match, the shared dump's 0.03).
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


class PostMatcher(Protocol):
    """What the analyzer needs of a matcher (``matchers.engine.Matcher`` is one; tests use fakes)."""

    def scan_text(
        self,
        text: str,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        record_scope: str = "line",
    ) -> list[Hit]:
        """Hits in a whole post text (``record_scope="all"``: the post is one record)."""
        ...

    def iter_hits(
        self,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        line_offset: int = 0,
    ) -> Iterator[list[Hit]]:
        """Hits in UTF-8 ``data``, one batch per newline-aligned block, every line a record."""
        ...


class LineFile(Protocol):
    """A big line file matched elsewhere: (rows, bytes read) in order, then what reading it found."""

    sha256: str | None
    size: int
    findings: list[Finding]
    rows: Iterator[tuple[list[HitRow], int]]

    @property
    def status(self) -> str: ...

    @property
    def detected_type(self) -> str: ...


class BlockScanner(Protocol):
    """Matches big files' blocks elsewhere (``crawlers.parallel.ParallelScanner``: worker processes)."""

    def blocks(
        self, blocks: Iterable[TextBlock], source: str, token: str | None
    ) -> Iterator[tuple[TextBlock, list[HitRow]]]:
        """Each block with its finished hit rows, in order."""
        ...

    def line_file(self, path: Path, name: str, limits: ReadLimits, source: str, token: str | None) -> LineFile | None:
        """A plain line file matched in independent byte ranges; None when the reader must read it."""
        ...


class LocatedHit(NamedTuple):
    """A matcher hit with where it was found (a tuple: built once per hit, about a third of the cost of a
    frozen dataclass's ``__init__``)."""

    hit: Hit
    locator: str
    attachment_sha256: str | None


@dataclass(frozen=True, slots=True)
class FileOutcome:
    name: str
    sha256: str | None
    size: int | None
    status: AttachmentStatus
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
    stored_at: datetime | None = None  # when the sink wrote it: the ``last_seen`` of its hits

    @property
    def status(self) -> PostStatus:
        """``partial`` when any file was not read whole, else ``ok``."""
        return PostStatus.OK if all(f.status == AttachmentStatus.OK for f in self.files) else PostStatus.PARTIAL


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """How posts are read and scored (frozen: one value for a whole run)."""

    read_limits: ReadLimits = field(default_factory=ReadLimits)
    trade_scorer: TradeScorer | None = None
    fingerprinter: Fingerprinter | None = None
    #: The one redaction rule, applied to every crawled string before it is stored or returned.
    redactor: Redactor = field(default_factory=Redactor)
    spool_dir: Path | None = None


class Analyzer:
    """Reads and matches posts (no database writes); see the module docstring."""

    def __init__(
        self,
        matcher: PostMatcher,
        options: AnalysisOptions | None = None,
        *,
        parallel: BlockScanner | None = None,
        on_block: Callable[[TextBlock], None] | None = None,
    ) -> None:
        self.matcher = matcher
        self.options = options or AnalysisOptions()
        self.parallel = parallel  # big files' blocks go here when set (``scan --jobs``)
        self.on_block = on_block  # progress: called after each block of a file is matched

    def analyze(self, post: CrawledPost, *, passwords: Sequence[str] = (), content_hash: str | None = None) -> Analysis:
        """Read and match the post and its files.

        Without ``content_hash`` it is computed from the SHA-256 the reader took while reading each
        file, so a big file is not read a second time just to hash it. The caller closes
        ``analysis.hits``.
        """
        analysis, steps = self._start(post, passwords, content_hash)
        for _ in steps:
            pass
        return analysis

    def analyze_live(
        self, post: CrawledPost, *, passwords: Sequence[str] = (), content_hash: str | None = None
    ) -> tuple[Analysis, Iterator[list[HitRow]]]:
        """:meth:`analyze` run by its consumer: the post's hit batches as they are cut.

        The post's own text is read at once (``trade_score``, ``text_signature`` are set on
        return); its files are read and matched as the batches are taken, so a consumer stores or
        writes them while ``scan --jobs`` workers go on matching. The batches are exactly
        :meth:`HitSpool.batches` of :meth:`analyze` (see :meth:`HitSpool.released`); files,
        findings and ``content_hash`` are complete once the iterator is exhausted. The caller
        closes ``analysis.hits``.
        """
        analysis, steps = self._start(post, passwords, content_hash)
        spool = analysis.hits

        def batches() -> Iterator[list[HitRow]]:
            for _ in steps:
                yield from spool.released()
            yield from spool.released(final=True)

        return analysis, batches()

    def _start(
        self, post: CrawledPost, passwords: Sequence[str], content_hash: str | None
    ) -> tuple[Analysis, Iterator[None]]:
        """The analysis with the post's text matched, and its files' steps (one after each batch of rows)."""
        options = self.options
        post = options.redactor.post(post)
        analysis = Analysis(post=post, hits=HitSpool(directory=options.spool_dir))
        try:
            if post.text:
                located = (
                    LocatedHit(h, f"text:line {h.line + 1}", None)
                    for h in self.matcher.scan_text(post.text, record_scope="all")
                )
                analysis.hits.add(hit_rows(located, post.source))
                if options.trade_scorer is not None:
                    analysis.trade_score, analysis.trade_terms = options.trade_scorer(post.text)
                if options.fingerprinter is not None:
                    analysis.text_signature = options.fingerprinter(post.text) or None
        except BaseException:
            analysis.hits.close()
            raise
        return analysis, self._files(analysis, passwords, content_hash)

    def _files(self, analysis: Analysis, passwords: Sequence[str], content_hash: str | None) -> Iterator[None]:
        post = analysis.post
        try:
            candidates = tuple(dict.fromkeys([*passwords, *passwords_from_text(post.text)]))
            for attachment in post.attachments:
                yield from self._attachment(analysis, attachment, candidates)
        except BaseException:
            analysis.hits.close()
            raise
        analysis.content_hash = content_hash or content_hash_of(
            post.text,
            [
                outcome.sha256 or attachment.sha256() or attachment.name
                for attachment, outcome in zip(post.attachments, analysis.files, strict=True)
            ],
        )

    def _attachment(self, analysis: Analysis, attachment: Attachment, passwords: Sequence[str]) -> Iterator[None]:
        if attachment.skipped_reason:
            analysis.findings.append(Finding(attachment.name, FindingKind.NOT_FETCHED, attachment.skipped_reason))
            analysis.files.append(
                FileOutcome(attachment.name, None, attachment.declared_size, AttachmentStatus.SKIPPED)
            )
            return
        # Sender file names are untrusted: only the last path component names the locator root.
        safe = replace(attachment, name=PurePosixPath(attachment.name.replace("\\", "/")).name or "attachment")
        token = analysis.hits.file_token()  # the file's SHA-256 is known once it is read whole
        source = analysis.post.source
        size = _size(attachment)
        if self.parallel is not None and safe.path is not None and (size or 0) >= PARALLEL_MIN_BYTES:
            lines = self.parallel.line_file(safe.path, safe.name, self.options.read_limits, source, token)
            if lines is not None:
                yield from self._line_file(analysis, attachment, lines, token)
                return
        with read_attachment(safe, limits=self.options.read_limits, passwords=passwords) as reading:
            for block, rows in self._block_rows(reading, analysis, size, source, token):
                analysis.hits.add(rows)
                if self.on_block is not None:
                    self.on_block(block)
                yield
        report = reading.report
        analysis.hits.resolve_file(token, report.sha256)
        analysis.files.append(
            FileOutcome(
                attachment.name, report.sha256, report.size, AttachmentStatus(report.status), report.detected_type
            )
        )

    def _line_file(self, analysis: Analysis, attachment: Attachment, lines: LineFile, token: str) -> Iterator[None]:
        """A big line file matched in ranges: its rows come finished (see :mod:`crawlers.parallel`).

        Its SHA-256 may be known before its last rows (``lines.sha256``): its rows' batches can
        then be handed over while it is still being matched.
        """
        resolved = False
        for rows, nbytes in lines.rows:
            if not resolved and lines.sha256 is not None:
                analysis.hits.resolve_file(token, lines.sha256)
                resolved = True
            analysis.hits.add(rows)
            if self.on_block is not None:  # progress counts characters of blocks: a stand-in of the range's size
                self.on_block(TextBlock(attachment.name, " " * max(0, nbytes - 1)))
            yield
        analysis.findings.extend(lines.findings)
        analysis.hits.resolve_file(token, lines.sha256)
        analysis.files.append(
            FileOutcome(attachment.name, lines.sha256, lines.size, AttachmentStatus(lines.status), lines.detected_type)
        )

    def _block_rows(
        self, reading: Iterable[TextBlock | Finding], analysis: Analysis, size: int | None, source: str, token: str
    ) -> Iterator[tuple[TextBlock, Iterable[HitRow]]]:
        """Each block with its hit rows, in order; a big file goes to the parallel scanner if any."""

        def blocks() -> Iterator[TextBlock]:
            for item in reading:
                if isinstance(item, Finding):
                    analysis.findings.append(item)
                    continue
                yield item

        if self.parallel is not None and (size or 0) >= PARALLEL_MIN_BYTES:
            yield from self.parallel.blocks(blocks(), source, token)
            return
        for block in blocks():
            data = block.text.encode("utf-8", "surrogatepass")
            located = (
                LocatedHit(h, block.locate(h.line), token)
                for hits in self.matcher.iter_hits(data, columns=block.columns, delimiter=block.delimiter)
                for h in hits
            )
            yield block, hit_rows(located, source)


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

    Per hit only what differs is computed: a line's hits share their locator (redacted once), and
    the matcher's explanations are few shared objects (rendered once each, found by identity).
    """
    rendered: dict[int, tuple[Explanation | None, str]] = {}  # id -> (the object, kept alive; JSON)
    last_locator, last_redacted = "", ""
    new_row = tuple.__new__
    for item in located:
        hit = item.hit
        locator = item.locator
        if locator != last_locator:
            last_locator, last_redacted = locator, redact_locator(locator)[:2048]
        explanation_of = hit.explanation
        done = rendered.get(id(explanation_of))
        if done is None:
            done = rendered[id(explanation_of)] = (explanation_of, json.dumps(_explanation(hit), ensure_ascii=False))
        obfuscation = hit.obfuscation
        subject_ids = hit.subject_ids
        match_kind = hit.match_kind
        if match_kind != PARTIAL and len(subject_ids) == 1:  # one subject (a dump's rows): no inner loop
            only = subject_ids[0]
            yield new_row(
                HitRow,
                (
                    item.attachment_sha256,
                    source,
                    last_redacted,
                    hit.id_type,
                    hit.form,
                    hit.digest,
                    hit.key_id,
                    only,
                    only or 0,
                    1,
                    match_kind,
                    "+".join(obfuscation) if obfuscation else OBF_NONE,
                    hit.confidence,
                    hit.masked[:255],
                    done[1],
                ),
            )
            continue
        label = "+".join(obfuscation) if obfuscation else OBF_NONE
        masked = hit.masked[:255]
        subjects: Sequence[int | None] = (None,) if match_kind == PARTIAL else subject_ids
        for subject_id in subjects:
            yield new_row(
                HitRow,
                (
                    item.attachment_sha256,
                    source,
                    last_redacted,
                    hit.id_type,
                    hit.form,
                    hit.digest,
                    hit.key_id,
                    subject_id,
                    subject_id or 0,
                    len(subject_ids),
                    match_kind,
                    label,
                    hit.confidence,
                    masked,
                    done[1],
                ),
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
