"""Record rules: weak types count only beside a strong identifier of the same subject; masked values
are partial hits whose compatible subject sets intersect with the other evidence in the record."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from matchers.model import COMPOSITE, EXACT, OBF_MASKED, PARTIAL, Found, Hit
from matchers.scoring import Evidence, score
from matchers.types.base import Recognizer

PARTIAL_BASE = 0.6
_NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class RecordRules:
    """All the record rules need from the matcher: weak recognizers, hashing, look-up, context, headers."""

    weak: Sequence[Recognizer]  # empty: no composite evidence
    partial: bool
    key_id: str
    digest_many: Callable[[str, Sequence[bytes | str], str], list[bytes]]
    lookup: Callable[[Sequence[bytes]], Mapping[int, tuple[int, ...]]]
    context_words: Callable[[str, str], tuple[str, ...]]
    header_for: Callable[[str, str], bool]


@dataclass(frozen=True)
class RecordContext:
    rules: RecordRules
    columns: Sequence[str] | None
    delimiter: str | None
    line_base: int
    whole: bool
    block: bytes
    context_cache: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def context(self, id_type: str, line_text: str) -> tuple[str, ...]:
        key = (id_type, line_text)
        found = self.context_cache.get(key)
        if found is None:
            found = self.context_cache[key] = self.rules.context_words(id_type, line_text)
        return found


def build_hits(ctx: RecordContext, found: list[Found]) -> list[Hit]:
    """Group located strong candidates by record, add weak evidence, apply the rules, score."""
    groups: dict[int, list[Found]] = {}
    for f in found:
        groups.setdefault(0 if ctx.whole else f.line, []).append(f)
    weak = _weak_evidence(ctx, groups) if ctx.rules.weak else {}
    hits: list[Hit] = []
    for key in sorted(groups):
        hits.extend(_record_hits(ctx, groups[key], weak.get(key, [])))
    hits.sort(key=lambda h: h.line)
    return hits


def _weak_evidence(ctx: RecordContext, groups: dict[int, list[Found]]) -> dict[int, list[Found]]:
    rules = ctx.rules
    cands: list[tuple[int, Recognizer, str, str, int, str, int]] = []
    # Records repeat the same words (product names, statuses): hash each distinct value once.
    distinct: dict[tuple[str, str], dict[str, int]] = {}
    whole_text = ctx.block.decode("utf-8", "replace") if ctx.whole else ""
    for key, fs in groups.items():
        text, base_line = (whole_text, 0) if ctx.whole else (fs[0].line_text, fs[0].line)
        for rec in rules.weak:
            for canonical, form, start in rec.record_tokens(text, partial=rules.partial):
                cands.append((key, rec, canonical, form, start, text, base_line))
                distinct.setdefault((rec.domain, form), {}).setdefault(canonical, 0)
    if not cands:
        return {}
    digests: list[bytes] = []
    for (domain, form), values in distinct.items():
        for canonical, digest in zip(values, rules.digest_many(domain, list(values), form), strict=True):
            values[canonical] = len(digests)
            digests.append(digest)
    matched = rules.lookup(digests)
    out: dict[int, list[Found]] = {}
    newlines: dict[int, list[int]] = {}  # per text (by id): its newline offsets, found once
    for key, rec, canonical, form, start, text, base_line in cands:
        position = distinct[(rec.domain, form)][canonical]
        subjects = matched.get(position)
        if subjects is None:
            continue
        nl = newlines.get(id(text))
        if nl is None:
            nl = newlines[id(text)] = [m.start() for m in _NEWLINE.finditer(text)]
        f = _weak_found(rec, canonical, form, text, nl, start, base_line, digests[position], subjects)
        out.setdefault(key, []).append(f)
    return out


def _weak_found(
    rec: Recognizer,
    canonical: str,
    form: str,
    text: str,
    newlines: list[int],
    start: int,
    base_line: int,
    digest: bytes,
    subjects: tuple[int, ...],
) -> Found:
    """A weak candidate at ``start`` in ``text``; its line comes from the text's newline offsets
    (a bisection, never a count from the start of the text)."""
    line = bisect.bisect_left(newlines, start)
    line_start = newlines[line - 1] + 1 if line else 0
    line_end = newlines[line] if line < len(newlines) else len(text)
    return Found.of(
        rec,
        canonical,
        form,
        digest=digest,
        subjects=subjects,
        line=base_line + line,
        start=start - line_start,
        obfuscation=rec.token_classes(text, start, canonical) if form == "full" else (OBF_MASKED,),
        extractor=f"{rec.id_type}.record",
        line_text=text[line_start:line_end],
    )


def _record_hits(ctx: RecordContext, strong: list[Found], weak: list[Found]) -> list[Hit]:
    weak_full = _unique([w for w in weak if w.form == "full"])
    weak_part = _unique([w for w in weak if w.form != "full"])
    exact, households = _households([f for f in strong if f.form == "full"], weak_full)
    partial = [f for f in strong if f.form != "full"]
    exact_subjects = {s for f in exact for s in f.subjects}
    corroboration: dict[int, list[str]] = {id(f): [] for f in exact}
    for f in exact:
        for other in exact:
            if other.id_type != f.id_type and set(f.subjects) & set(other.subjects):
                corroboration[id(f)].append(other.id_type)
    hits: list[Hit] = []
    weak_narrowed: list[Found] = []
    for w in weak_full:
        inter = set(w.subjects) & exact_subjects
        if not inter:
            weak_narrowed.append(w)
            continue  # a stranger who shares a name, or no strong evidence: never a hit
        partners = [f for f in exact if set(f.subjects) & inter]
        for f in partners:
            corroboration[id(f)].append(w.id_type)
        composite = replace(w, subjects=tuple(sorted(inter)))
        weak_narrowed.append(composite)
        conf_base = max(f.rec.base_confidence for f in partners)
        hits.append(_hit(ctx, composite, COMPOSITE, conf_base, corroborated=tuple(f.id_type for f in partners)))
    for f in exact:
        hits.append(_hit(ctx, f, EXACT, f.rec.base_confidence, corroborated=tuple(dict.fromkeys(corroboration[id(f)]))))
    # Each partial hit narrows by the evidence as narrowed so far (earlier partials included).
    partial += households
    evidence = exact + weak_narrowed + weak_part + partial
    first_partial = len(evidence) - len(partial)
    for k, p in enumerate(partial):
        compatible = set(p.subjects)
        narrowed: list[str] = []
        # Evidence on the masked value's own line first: a sample lists one person per line.
        for e in sorted(evidence, key=lambda e: e.line != p.line):
            if e is p:
                continue
            inter = compatible & set(e.subjects)
            if inter and inter != compatible:
                compatible = inter
                narrowed.append(e.id_type if e.form == "full" else f"masked {e.id_type}")
        narrowed_p = evidence[first_partial + k] = replace(p, subjects=tuple(sorted(compatible)))
        notes = (HOUSEHOLD_NOTE,) if p.form == "full" else ()
        hits.append(_hit(ctx, narrowed_p, PARTIAL, PARTIAL_BASE, narrowed=tuple(dict.fromkeys(narrowed)), notes=notes))
    return hits


HOUSEHOLD_NOTE = "an address is a household: exact only beside another identifier of the same subject"


def _households(full: list[Found], weak_full: list[Found]) -> tuple[list[Found], list[Found]]:
    """(exact evidence, household values left as weaker evidence).

    A household value (an address) becomes exact, narrowed to the subjects it shares, only beside a
    non-household identifier or a name/birth date of the same subject in the record; alone it stays
    compatible with every subject who holds it and is reported as a partial hit.
    """
    exact = [f for f in full if not f.rec.household]
    households = [f for f in full if f.rec.household]
    if not households:
        return exact, []
    others = {s for f in exact + weak_full for s in f.subjects}
    alone: list[Found] = []
    for f in households:
        shared = tuple(s for s in f.subjects if s in others)
        if shared:
            exact.append(replace(f, subjects=shared))
        else:
            alone.append(f)
    return exact, alone


def _unique(found: list[Found]) -> list[Found]:
    seen: set[bytes] = set()
    out = []
    for f in found:
        if f.digest not in seen:
            seen.add(f.digest)
            out.append(f)
    return out


def _hit(
    ctx: RecordContext,
    f: Found,
    kind: str,
    base: float,
    *,
    corroborated: tuple[str, ...] = (),
    narrowed: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
) -> Hit:
    header = _header(ctx, f)
    header_match = header if header is not None and ctx.rules.header_for(f.id_type, header) else None
    validation = f.rec.validation_label(f.canonical) if f.form == "full" else None
    ev = Evidence(
        base=base,
        match_kind=kind,
        extractor=f.extractor,
        validation=validation,
        obfuscation=f.obfuscation,
        header_match=header_match,
        context=ctx.context(f.id_type, f.line_text),
        corroborated_by=corroborated,
        compatible=len(f.subjects),
        narrowed_by=narrowed,
        notes=notes + f.rec.notes(f.canonical, f.form),
    )
    confidence, explanation = score(ev)
    extra: dict[str, str] = {}
    if header is not None:
        extra["column"] = header
    if kind == PARTIAL:
        extra["compatible_subjects"] = str(len(f.subjects))
    if corroborated:
        extra["corroborated_by"] = ",".join(corroborated)
    return Hit(
        id_type=f.id_type,
        digest=f.digest,
        key_id=ctx.rules.key_id,
        subject_ids=f.subjects,
        match_kind=kind,
        obfuscation=f.obfuscation,
        confidence=confidence,
        masked=f.rec.mask(f.canonical, f.form),
        line=ctx.line_base + f.line,
        form=f.form,
        explanation=explanation,
        extra=extra,
    )


def _header(ctx: RecordContext, f: Found) -> str | None:
    if not ctx.columns:
        return None
    delim = ctx.delimiter or next((d for d in ("\t", ",", "|", ";") if d in f.line_text), ",")
    field = f.line_text[: f.start].count(delim)
    return ctx.columns[field] if field < len(ctx.columns) else None
