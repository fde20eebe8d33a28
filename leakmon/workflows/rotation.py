"""Re-keying the protected set: every source file with its own column mapping, no silent shrink.

A keyed digest cannot be converted to another key without the plaintext, so rotation re-reads the
company's files and swaps the set atomically. Rules of the swap:

* each ``--source`` names its own mapping (``FILE::subject_column=COL;HEADER=TYPE;...``), so a CRM
  export and an XLSX with other headers are rotated together;
* a new set with fewer digests than the current one is refused unless ``allow_shrink`` (a file left
  out would otherwise stop matching without a word);
* suppression rules hold (subject, type), so they carry over; rules bound to a digest alone (hits
  compatible with several subjects) cannot be re-keyed and are counted in the result;
* the new key is written to the key file (inactive) before the database changes, made active only
  after the swap committed, and removed again when anything fails: no orphan key is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from leakmon.app import App
from leakmon.errors import InputError
from leakmon.protect import ImportReport, hash_rows, open_planned
from matchers.keyed_hash import KeyedHasher
from storage.models.cases import SuppressionRule
from storage.repositories.keys import active_key_ids, record_key, retire_key
from storage.repositories.protected import ProtectedLoader, digest_count

SPEC_SEPARATOR = "::"
SUBJECT_KEY = "subject_column"


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One protected-set file and how to read it."""

    path: Path
    subject_column: str
    columns: tuple[str, ...]  # HEADER=TYPE


def parse_source(text: str, *, subject_column: str, columns: Sequence[str]) -> SourceSpec:
    """``FILE`` (the shared --subject-column/--column) or ``FILE::subject_column=COL;HEADER=TYPE;...``."""
    path, sep, mapping = text.partition(SPEC_SEPARATOR)
    if not sep:
        return SourceSpec(Path(path), subject_column, tuple(columns))
    subject = subject_column
    own: list[str] = []
    for item in filter(None, (part.strip() for part in mapping.split(";"))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise InputError(f"--source {text!r}: expected FILE::subject_column=COL;HEADER=TYPE;...")
        if key.strip() == SUBJECT_KEY:
            subject = value.strip()
        else:
            own.append(f"{key.strip()}={value.strip()}")
    return SourceSpec(Path(path), subject, tuple(own))


@dataclass
class RotationResult:
    old_key: str | None
    new_key: str
    inserted: int
    removed: int
    per_file: dict[str, int] = field(default_factory=dict)  # file -> digests staged from it
    rules_kept: int = 0
    rules_stranded: int = 0  # digest-only rules that stay under the old key


def rotate(
    app: App,
    sources: Sequence[SourceSpec],
    *,
    allow_shrink: bool = False,
    keep_old: bool = False,
) -> RotationResult:
    """Create a new HMAC key, re-hash ``sources`` under it and swap the set atomically."""
    from leakmon.runtime import build_registry, forms_for

    if not sources:
        raise InputError("rotate needs --source FILE: digests cannot be re-keyed without the plaintext set")
    for spec in sources:
        if not spec.path.is_file():
            raise InputError(f"--source {spec.path}: no such file")
    ring = app.keyring
    old_id = ring.active.get("hmac")
    new_id = ring.add_new("hmac")
    if old_id:
        ring.active["hmac"] = old_id  # stays active until the swap has committed
    ring.save()
    try:
        hasher = KeyedHasher(ring.key("hmac", new_id), new_id)
        registry = build_registry(app)
        result = RotationResult(old_id, new_id, 0, 0)
        with app.sessions.begin() as session:
            before = digest_count(session)
            loader = ProtectedLoader(session)
            for spec in sources:
                table, plan = open_planned(
                    spec.path, subject_column=spec.subject_column, columns=spec.columns, known_types=registry.types
                )
                report = ImportReport()
                for batch in hash_rows(table, plan, hasher, forms_for(app, registry), report):
                    loader.stage(batch)
                result.per_file[str(spec.path)] = report.digests
            loaded = loader.finish(replace=True)
            if loaded.inserted < before and not allow_shrink:
                raise InputError(
                    f"the new set would hold {loaded.inserted} digests instead of {before}: a source file is "
                    "missing or maps fewer columns; pass every file (each with its own mapping) or --allow-shrink"
                )
            result.inserted, result.removed = loaded.inserted, loaded.removed
            rules = list(session.scalars(select(SuppressionRule)))
            result.rules_kept = sum(rule.subject_id is not None for rule in rules)
            result.rules_stranded = len(rules) - result.rules_kept
            record_key(session, new_id, "hmac")
            for key_id in active_key_ids(session, "hmac"):
                if key_id != new_id:
                    retire_key(session, key_id)
    except BaseException:
        ring.drop("hmac", new_id)
        if old_id:
            ring.active["hmac"] = old_id
        else:
            ring.active.pop("hmac", None)
        ring.save()
        raise
    ring.active["hmac"] = new_id
    if old_id and not keep_old:
        ring.drop("hmac", old_id)
    ring.save()
    return result
