"""`leakmon scan`: files and directories through the same sink as every other venue.

Each file becomes a post of venue ``file`` (source ``scan``), read by the leaked-files reader and
matched; hits are stored, then written out as they are read back (masked values and opaque subject
references only). Nothing holds a file's hits in memory: the analyzer spools them to disk, the
store upserts them in bulk, and the output streams the stored hits back in one query as plain
tuples, each rendered once into its JSON line or CSV/table cells (no result row object, no dict,
no ``json.dumps`` per hit: the output was 12 us a hit, a quarter of storing a mass-breach dump).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as json_string  # what json.dumps(ensure_ascii=False) quotes with
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from crawlers.ingest import IngestSink
from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.redact import redact, redact_finding
from leakmon.errors import InputError
from leakmon.hitout import CONFIDENCE_DIGITS, HIT_FIELDS, hit_json
from storage.models.cases import IncidentPost
from storage.models.core import HitRecord
from storage.repositories.hits import HitRow
from storage.repositories.protected import subject_refs

SCAN_SOURCE = "scan"
#: The hit contract's keys (:data:`leakmon.hitout.HIT_FIELDS`), then what only ``scan`` adds.
HIT_COLUMNS = [*HIT_FIELDS, "compatible_subjects"]
#: Hits fetched at a time when writing a file's output.
PAGE_ROWS = 5000
#: A hit as the output reads it: (hit id, subject reference, locator, id_type, match_kind,
#: obfuscation, confidence, masked, compatible_subjects); ids and references are None when unknown.
ScanRow = tuple[int | None, str | None, str, str, str, str, float, str, int]

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


class HitWriter(Protocol):
    """Where ``scan`` writes hits (:class:`leakmon.output.RecordWriter`)."""

    fmt: str

    def write_row(self, values: Sequence[object]) -> None: ...

    def write_json_lines(self, lines: Sequence[str]) -> None: ...


def scan_paths(
    sink: IngestSink,
    paths: Sequence[Path],
    out: HitWriter,
    *,
    passwords: Sequence[str] = (),
    store: bool = True,
    min_confidence: float = 0.0,
    withhold_refs: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> ScanOutcome:
    """Scan every file; each hit goes to ``out`` (in ``HIT_COLUMNS``) once its file is stored (or read,
    with ``store=False``); ``withhold_refs`` writes every subject reference as null."""
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
        shown = redact(str(path))  # what is printed follows the rule stored strings follow
        # Hits are stored (or, not stored, written out) batch by batch while the file is matched
        # (crawlers.ingest.IngestSink.analyze_and_store, crawlers.analyzer.Analyzer.analyze_live).
        post_id = incident_id = None
        if store:
            analysis, result = sink.analyze_and_store(post, passwords=passwords)
            post_id = result.post_id or 0
            with sink.sessions() as session:
                incident_id = session.scalar(select(IncidentPost.incident_id).where(IncidentPost.post_id == post_id))
            rows: Iterable[ScanRow] = stored_rows(
                sink.sessions, post_id, analysis.stored_at, min_confidence, refs=not withhold_refs
            )
        else:
            analysis, batches = sink.analyzer.analyze_live(post, passwords=passwords)
            rows = spooled_rows(sink.sessions, batches, min_confidence, refs=not withhold_refs)
        with analysis.hits:
            outcome.hits += write_hits(out, rows, shown, post_id, incident_id)
        outcome.findings.extend((shown, redact_finding(finding)) for finding in analysis.findings)
    return outcome


def write_hits(
    out: HitWriter, rows: Iterable[ScanRow], source: str, post_id: int | None, incident_id: int | None
) -> int:
    """Write a file's hits to ``out`` in its format; returns how many."""
    written = 0
    if out.fmt == "jsonl":
        lines: list[str] = []
        for line in jsonl_lines(rows, source, post_id, incident_id):
            lines.append(line)
            if len(lines) >= PAGE_ROWS:  # one write a page: a write per line was a third of the output
                out.write_json_lines(lines)
                written += len(lines)
                lines = []
        out.write_json_lines(lines)
        return written + len(lines)
    for hit_id, ref, locator, id_type, kind, obfuscation, confidence, masked, compatible in rows:
        out.write_row(
            (
                source,
                locator,
                ref,
                id_type,
                kind,
                obfuscation,
                round(float(confidence), CONFIDENCE_DIGITS),
                masked,
                hit_id,
                post_id,
                incident_id,
                compatible,
            )
        )
        written += 1
    return written


#: Distinct confidences and short strings (types, kinds) rendered at most this many at a time.
_RENDERED_MAX = 4096


def jsonl_lines(rows: Iterable[ScanRow], source: str, post_id: int | None, incident_id: int | None) -> Iterator[str]:
    """Each hit's JSON line: byte for byte ``json.dumps(hit_record(...), ensure_ascii=False)`` and a
    line break, built from the row's values: strings quoted by json's own encoder, a confidence
    rounded and rendered once per distinct value, the file's constant fields once per file, and a
    locator or subject reference equal to the previous row's (a record's hits come together) reused."""
    head = '{"source": ' + json_string(source) + ', "locator": '
    ids = f', "post_id": {_json_int(post_id)}, "incident_id": {_json_int(incident_id)}, "compatible_subjects": '
    confidences: dict[float, str] = {}
    words: dict[str, str] = {}
    last_locator = last_ref = ""
    locator_text = ref_text = '""'
    for hit_id, ref, locator, id_type, kind, obfuscation, confidence, masked, compatible in rows:
        shown = confidences.get(confidence)
        if shown is None:
            if len(confidences) >= _RENDERED_MAX:
                confidences.clear()
            shown = confidences[confidence] = float.__repr__(round(float(confidence), CONFIDENCE_DIGITS))
        type_text, kind_text, obfuscation_text = words.get(id_type), words.get(kind), words.get(obfuscation)
        if type_text is None or kind_text is None or obfuscation_text is None:
            if len(words) >= _RENDERED_MAX:
                words.clear()
            type_text = words[id_type] = json_string(id_type)
            kind_text = words[kind] = json_string(kind)
            obfuscation_text = words[obfuscation] = json_string(obfuscation)
        if locator != last_locator:
            last_locator, locator_text = locator, json_string(locator)
        if ref is None:
            ref_shown = "null"
        else:
            if ref != last_ref:
                last_ref, ref_text = ref, json_string(ref)
            ref_shown = ref_text
        yield (
            f'{head}{locator_text}, "subject_ref": {ref_shown}, '
            f'"id_type": {type_text}, "match_kind": {kind_text}, "obfuscation": {obfuscation_text}, '
            f'"confidence": {shown}, "masked": {json_string(masked)}, '
            f'"hit_id": {"null" if hit_id is None else int.__repr__(hit_id)}{ids}{int.__repr__(compatible)}}}\n'
        )


def _json_int(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


def hit_record(
    row: Any, subject_ref: str | None, hit_id: int | None, post_id: int | None, incident_id: int | None = None
) -> HitRecordOut:
    """A hit (a :class:`HitRow` or a stored row) as a ``scan`` record: the one rendering, then
    ``scan``'s own column (what :func:`jsonl_lines` writes for it, as a dict)."""
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


_SHOWN = ("locator", "id_type", "match_kind", "obfuscation", "confidence", "masked", "compatible_subjects")
#: The post's hits seen by this run, with their subjects' references, in id order.
_STORED = (
    "SELECT h.id, {ref}, " + ", ".join(f"h.{name}" for name in _SHOWN) + " FROM hits h{join} "  # noqa: S608
    "WHERE {post} AND h.confidence >= {min}{seen} ORDER BY h.id"
)
_SUBJECT_JOIN = " LEFT JOIN subjects s ON s.id = h.subject_id"
#: SQLite: a post at least this many hits, holding at least half the ids from its lowest on, is
#: read by walking the table from that id (in id order: no sort of the post's hits; through the
#: identity index, in digest order, every row is a random read of the table).
WALK_ROWS = 1000


def stored_rows(
    sessions: Callable[[], Session], post_id: int, seen_at: datetime | None, min_confidence: float, *, refs: bool = True
) -> Iterator[ScanRow]:
    """The post's hits seen by this run (``last_seen`` = ``seen_at``), in id order, as plain tuples.

    One statement, fetched ``PAGE_ROWS`` at a time from the driver's cursor (a server-side one on
    PostgreSQL): no result row objects, no ORM.
    """
    with sessions() as session:
        connection = session.connection()
        dialect = connection.dialect.name
        raw = connection.connection.driver_connection
        if raw is None:
            raise RuntimeError("no database connection to read the hits with")
        params: dict[str, Any] = {"post": post_id, "min": min_confidence}
        if dialect == "postgresql":
            mark, post = "%({})s", "h.post_id = %(post)s"
        else:
            mark, post = ":{}", "h.post_id = :post"
            count, low = connection.exec_driver_sql(
                "SELECT count(*), min(id) FROM hits WHERE post_id = ?", (post_id,)
            ).one()
            top = connection.exec_driver_sql("SELECT max(id) FROM hits").scalar() or 0
            if count >= WALK_ROWS and count * 2 >= top - low + 1:
                post, params["low"] = "h.id >= :low AND h.post_id + 0 = :post", low
        seen = ""
        if seen_at is not None:
            stamp = cast(Table, HitRecord.__table__).c.last_seen.type.dialect_impl(connection.dialect)
            processor = stamp.bind_processor(connection.dialect)
            params["seen"] = processor(seen_at) if processor is not None else seen_at
            seen = " AND h.last_seen = " + mark.format("seen")
        statement = _STORED.format(
            ref="s.subject_ref" if refs else "NULL",
            join=_SUBJECT_JOIN if refs else "",
            post=post,
            min=mark.format("min"),
            seen=seen,
        )
        cursor = raw.cursor(name=f"scan_hits_{post_id}") if dialect == "postgresql" else raw.cursor()
        try:
            cursor.execute(statement, params)
            while page := cursor.fetchmany(PAGE_ROWS):
                yield from page
        finally:
            cursor.close()


def spooled_rows(
    sessions: Callable[[], Session], batches: Iterator[list[HitRow]], min_confidence: float, *, refs: bool = True
) -> Iterator[ScanRow]:
    """Hits not stored (``--no-store``): straight from the spool, batch by batch.

    Each batch holds an identity once; one identity found in two batches is written twice.
    """
    for batch in batches:
        rows = [row for row in batch if row.confidence >= min_confidence]
        found: dict[int, str] = {}
        if refs:
            with sessions() as session:
                found = subject_refs(session, {row.subject_id for row in rows if row.subject_id is not None})
        for row in rows:
            ref = found.get(row.subject_id) if row.subject_id is not None else None
            yield (
                None,
                ref,
                row.locator,
                row.id_type,
                row.match_kind,
                row.obfuscation,
                row.confidence,
                row.masked,
                row.compatible_subjects,
            )
