"""`leakmon scan`: files and directories through the same sink as every other venue.

Each file becomes a post of venue ``file`` (source ``scan``), read by the leaked-files reader and
matched; hits are stored, then written out as they are read back (masked values and opaque subject
references only). Nothing holds a file's hits in memory: the analyzer spools them to disk, the
store upserts them in bulk, and the output streams the stored hits back in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import BigInteger, Table, literal, select
from sqlalchemy.orm import Session

from crawlers.ingest import IngestSink
from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.redact import redact, redact_finding
from leakmon.errors import InputError
from leakmon.hitout import HIT_FIELDS, hit_json
from storage.models.cases import IncidentPost
from storage.models.core import HitRecord, Subject
from storage.repositories.hits import HitRow
from storage.repositories.protected import subject_refs

SCAN_SOURCE = "scan"
#: The hit contract's keys (:data:`leakmon.hitout.HIT_FIELDS`), then what only ``scan`` adds.
HIT_COLUMNS = [*HIT_FIELDS, "compatible_subjects"]
#: Hits fetched at a time when writing a file's output.
PAGE_ROWS = 5000

HitRecordOut = dict[str, object]


@dataclass
class ScanOutcome:
    hits: int = 0
    findings: list[tuple[str, Finding]] = field(default_factory=list)
    files: int = 0


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named, and files under directories named (sorted, symlinks not followed)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.is_symlink():
                    yield child
        elif path.is_file():
            yield path
        else:
            raise InputError(f"{path} does not exist")


def scan_paths(
    sink: IngestSink,
    paths: Sequence[Path],
    emit: Callable[[HitRecordOut], None],
    *,
    passwords: Sequence[str] = (),
    store: bool = True,
    min_confidence: float = 0.0,
    on_file: Callable[[Path], None] | None = None,
) -> ScanOutcome:
    """Scan every file; each hit goes to ``emit`` once its file is stored (or read, with ``store=False``)."""
    outcome = ScanOutcome()
    for path in iter_files(paths):
        outcome.files += 1
        if on_file is not None:
            on_file(path)
        post = CrawledPost(
            source=SCAN_SOURCE,
            external_id=str(path.resolve()),
            venue="file",
            url=path.resolve().as_uri(),
            title=path.name,
            attachments=(Attachment(name=path.name, path=path),),
        )
        analysis = sink.analyze(post, passwords=passwords)
        shown = redact(str(path))  # what is printed follows the rule stored strings follow
        with analysis.hits:
            outcome.findings.extend((shown, redact_finding(finding)) for finding in analysis.findings)
            if store:
                post_id = sink.store(analysis).post_id or 0
                records = stored_records(sink.sessions, post_id, analysis.stored_at, min_confidence)
            else:
                records = spooled_records(sink.sessions, analysis.hits.batches(), min_confidence)
            for record in records:
                record["source"] = shown
                emit(record)
                outcome.hits += 1
    return outcome


#: The stored columns a scan record shows (besides hit id and subject reference).
_SHOWN = ("source", "locator", "id_type", "match_kind", "obfuscation", "confidence", "masked", "compatible_subjects")


def hit_record(
    row: Any, subject_ref: str | None, hit_id: int | None, post_id: int | None, incident_id: int | None = None
) -> HitRecordOut:
    """A hit (a :class:`HitRow` or a stored row) for ``scan`` output: the one rendering, then ``scan``'s own column."""
    record = hit_json(
        row.source,
        row.locator,
        subject_ref,
        row.id_type,
        row.match_kind,
        row.obfuscation,
        row.confidence,
        row.masked,
        hit_id,
        post_id,
        incident_id,
    )
    record["compatible_subjects"] = row.compatible_subjects
    return record


def stored_records(
    sessions: Callable[[], Session], post_id: int, seen_at: datetime | None, min_confidence: float
) -> Iterator[HitRecordOut]:
    """The post's hits seen by this run in id order: one streamed query, ``PAGE_ROWS`` rows a fetch.

    One sort of the post's hits in all. Keyset pages (``id > last ... LIMIT``) read and sorted every
    hit of the post once per page, since no index holds (post, id): quadratic in a dump's hits.
    """
    hits = cast(Table, HitRecord.__table__).c
    subjects = cast(Table, Subject.__table__)
    with sessions() as session:
        incident_id = session.scalar(select(IncidentPost.incident_id).where(IncidentPost.post_id == post_id))
        # Every field HitOut reads is a column of the row: a missing one costs Row a raised and
        # caught AttributeError per field and row (more than half of writing the output).
        query = (
            select(
                hits.id.label("hit_id"),
                hits.post_id,
                literal(incident_id, BigInteger).label("incident_id"),
                subjects.c.subject_ref,
                *(hits[name] for name in _SHOWN),
            )
            .outerjoin(subjects, subjects.c.id == hits.subject_id)
            .where(hits.post_id == post_id, hits.confidence >= min_confidence)
            .order_by(hits.id)
        )
        if seen_at is not None:
            query = query.where(hits.last_seen == seen_at)
        rows = session.connection().execution_options(yield_per=PAGE_ROWS).execute(query)
        for row in rows:
            yield hit_record(row, row.subject_ref, row.hit_id, post_id, incident_id)


def spooled_records(
    sessions: Callable[[], Session], batches: Iterator[list[HitRow]], min_confidence: float
) -> Iterator[HitRecordOut]:
    """Hits not stored (``--no-store``): straight from the spool, batch by batch.

    Each batch holds an identity once; one identity found in two batches is written twice.
    """
    for batch in batches:
        rows = [row for row in batch if row.confidence >= min_confidence]
        with sessions() as session:
            refs = subject_refs(session, {row.subject_id for row in rows if row.subject_id is not None})
        for row in rows:
            yield hit_record(row, refs.get(row.subject_id) if row.subject_id is not None else None, None, None)
