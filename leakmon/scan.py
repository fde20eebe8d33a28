"""`leakmon scan`: files and directories through the same sink as every other venue.

Each file becomes a post of venue ``file`` (source ``scan``), read by the leaked-files reader and
matched; hits are printed (masked values and opaque subject references only) and stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from sqlalchemy import Table, select

from crawlers.ingest import Analysis, IngestSink, hit_rows
from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.redact import redact, redact_finding
from leakmon.errors import InputError
from storage.models.core import HitRecord
from storage.repositories.protected import subject_refs

SCAN_SOURCE = "scan"
HIT_COLUMNS = [
    "source",
    "locator",
    "subject_ref",
    "id_type",
    "match_kind",
    "obfuscation",
    "confidence",
    "masked",
    "compatible_subjects",
    "hit_id",
    "post_id",
]


@dataclass
class ScanOutcome:
    hits: list[dict[str, object]] = field(default_factory=list)
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
    *,
    passwords: Sequence[str] = (),
    store: bool = True,
    min_confidence: float = 0.0,
) -> ScanOutcome:
    outcome = ScanOutcome()
    for path in iter_files(paths):
        outcome.files += 1
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
        outcome.findings.extend((shown, redact_finding(finding)) for finding in analysis.findings)
        post_id = sink.store(analysis).post_id if store else None
        outcome.hits.extend(_records(sink, analysis, shown, post_id, min_confidence))
    return outcome


def _records(
    sink: IngestSink, analysis: Analysis, source: str, post_id: int | None, min_confidence: float
) -> list[dict[str, object]]:
    rows = [row for row in hit_rows(analysis, source) if float(row["confidence"]) >= min_confidence]  # type: ignore[arg-type]
    with sink.sessions() as session:
        refs = subject_refs(session, (int(r["subject_id"]) for r in rows if r["subject_id"] is not None))  # type: ignore[call-overload]
        ids: dict[tuple[object, ...], int] = {}
        if post_id is not None:
            hits = cast(Table, HitRecord.__table__).c
            keyed = select(hits.id, hits.id_type, hits.form, hits.digest, hits.subject_slot).where(
                hits.post_id == post_id
            )
            for hit_id, id_type, form, digest, slot in session.connection().execute(keyed):  # Core: no ORM objects
                ids[(id_type, form, digest, slot)] = hit_id
    records = []
    for row in rows:
        subject_id = row["subject_id"]
        records.append(
            {
                "source": source,
                "locator": row["locator"],
                "subject_ref": refs.get(subject_id) if isinstance(subject_id, int) else None,
                "id_type": row["id_type"],
                "match_kind": row["match_kind"],
                "obfuscation": row["obfuscation"],
                "confidence": round(float(row["confidence"]), 3),  # type: ignore[arg-type]
                "masked": row["masked"],
                "compatible_subjects": row["compatible_subjects"],
                "hit_id": ids.get((row["id_type"], row["form"], row["digest"], row["subject_slot"])),
                "post_id": post_id,
            }
        )
    return records
