"""Record rules: weak types count only beside a strong identifier of the same subject; masked values
are partial hits whose compatible subject sets intersect with the other evidence in the record."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from matchers.model import COMPOSITE, EXACT, OBF_MASKED, PARTIAL, Explanation, Found, Hit, HitBuilder, build_hit
from matchers.scoring import cached_score
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
    #: Weak values' holders by position: the index alone when ``confirm_pairs`` confirms them (or
    #: nothing is confirmed), else ``lookup``.
    candidates: Callable[[Sequence[bytes]], Mapping[int, tuple[int, ...]]]
    confirm_pairs: Callable[[Sequence[tuple[bytes, int]]], Collection[tuple[bytes, int]]] | None
    context_words: Callable[[str, str], tuple[str, ...]]
    #: Whether a text holds a context word of any type (False: every type's context_words is empty).
    any_context: Callable[[str], bool]
    header_for: Callable[[str, str], bool]
    #: The native reader of the weak tokens (None: the recognizers' ``record_tokens``, the reference).
    read_weak: WeakReader | None = None


#: What a one-subject record's hit shares with every hit of the same shape: type, kind, obfuscation
#: classes, confidence, form, explanation, extra.
_Template = tuple[str, str, tuple[str, ...], float, str, Explanation | None, dict[str, str]]


@dataclass(frozen=True)
class RecordContext:
    rules: RecordRules
    columns: Sequence[str] | None
    delimiter: str | None
    line_base: int
    whole: bool
    block: bytes
    context_cache: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    #: The last text found to hold no context word of any type (a dump's rows: every hit of the row
    #: asks, type after type).
    quiet: list[str | None] = field(default_factory=lambda: [None])
    #: One-subject records' hits by shape (:func:`_one_subject_hits`): per hit, what does not vary
    #: with the values (type, kind, classes, confidence, form, explanation, extra).
    shapes: dict[tuple[object, ...], list[_Template]] = field(default_factory=dict)
    #: Per recognizer: whether its validation label and its notes depend on the value, and whether it
    #: is a household type (:func:`_own`).
    own: dict[Recognizer, tuple[bool, bool, bool]] = field(default_factory=dict)

    def context(self, id_type: str, line_text: str) -> tuple[str, ...]:
        if line_text is self.quiet[0]:
            return ()
        key = (id_type, line_text)
        found = self.context_cache.get(key)
        if found is None:
            if not self.rules.any_context(line_text):
                self.quiet[0] = line_text
                return ()
            found = self.context_cache[key] = self.rules.context_words(id_type, line_text)
        return found


def build_hits(ctx: RecordContext, found: list[Found]) -> list[Hit]:
    """Group located strong candidates by record, add weak evidence, apply the rules, score."""
    groups: dict[int, list[Found]] = {}
    if ctx.whole:
        groups[0] = found
    else:
        for f in found:
            group = groups.get(f.line)
            if group is None:
                groups[f.line] = [f]
            else:
                group.append(f)
    weak_full, weak_part = _weak_evidence(ctx, groups) if ctx.rules.weak else ({}, {})
    hits: list[Hit] = []
    for key in sorted(groups):
        hits.extend(_record_hits(ctx, groups[key], weak_full.get(key, ()), weak_part.get(key, ())))
    if ctx.whole:  # per line, every hit of a record is on its line and records come in line order
        hits.sort(key=_LINE)
    return hits


_LINE = attrgetter("line")


def _weak_evidence(
    ctx: RecordContext, groups: dict[int, list[Found]]
) -> tuple[dict[int, list[Found]], dict[int, list[Found]]]:
    """Weak values in each record: (full-form ones, masked ones) by record key.

    Masked weak values only narrow partial hits, so they are read only in records that can have
    one (a strong partial or a household value): most records of a dump have none.
    """
    rules = ctx.rules
    whole_text = ctx.block.decode("utf-8", "replace") if ctx.whole else ""
    if rules.read_weak is not None:  # the kernel reads every record in one call: the indexed tokens alone
        (named, masks), digests = rules.read_weak(ctx.block, None if ctx.whole else sorted(groups), rules.partial)
        masks = {key: by_type for key, by_type in masks.items() if _maybe_partial(groups[key])}
        found = _weak_found(rules, _kernel_read(rules, named, groups, ctx.whole, whole_text), groups, digests)
        if not masks:
            return found, {}
        return found, _weak_found(rules, _kernel_read(rules, masks, groups, ctx.whole, whole_text), groups, digests)
    texts = {key: (whole_text, 0) if ctx.whole else (fs[0].line_text, fs[0].line) for key, fs in groups.items()}
    read: list[Tokens] = []
    for key, (text, base_line) in texts.items():
        for rec in rules.weak:
            tokens = rec.record_tokens(text, partial=False)
            if tokens:
                read.append((key, rec, text, base_line, tokens))
    full = _weak_found(rules, read, groups)
    if not rules.partial:
        return full, {}
    read = []
    for key, fs in groups.items():
        if not _maybe_partial(fs):
            continue
        text, base_line = texts[key]
        for rec in rules.weak:
            tokens = rec.masked_tokens(text)
            if tokens:
                read.append((key, rec, text, base_line, tokens))
    return full, _weak_found(rules, read, groups)


def _maybe_partial(found: list[Found]) -> bool:
    """Whether a record can have a partial hit (a strong partial or a household value)."""
    return any(f.form != "full" or f.rec.household for f in found)


#: Tokens by record key and type: (canonical, form, start) each, in the recognizer's order.
TokensByRecord = dict[int, dict[str, list[tuple[str, str, int]]]]
#: (records' full-form tokens, their masked tokens), and the digest of each (domain, form, canonical).
WeakRead = tuple[tuple[TokensByRecord, TokensByRecord], Mapping[tuple[str, str, str], bytes]]
#: The native reader: (block, record lines or None for the whole block, masked too) -> the tokens whose
#: digest is in the index (matchers/kernel/weak.c; engine.Matcher._read_weak).
WeakReader = Callable[[bytes, Sequence[int] | None, bool], WeakRead]


def _kernel_read(
    rules: RecordRules, tokens: TokensByRecord, groups: Mapping[int, list[Found]], whole: bool, whole_text: str
) -> list[Tokens]:
    """The kernel's tokens as :func:`_weak_found` reads them (per record, in the order of ``rules.weak``)."""
    read: list[Tokens] = []
    for key, by_type in tokens.items():
        if whole:
            text, base_line = whole_text, 0
        else:
            first = groups[key][0]
            text, base_line = first.line_text, first.line
        for rec in rules.weak:
            found = by_type.get(rec.id_type)
            if found:
                read.append((key, rec, text, base_line, found))
    return read


#: One recognizer's tokens in one record: record key, recognizer, record text, its first line, and
#: (canonical, form, start) per token.
Tokens = tuple[int, Recognizer, str, int, list[tuple[str, str, int]]]


def _weak_found(
    rules: RecordRules,
    read: list[Tokens],
    groups: Mapping[int, list[Found]],
    digest_of: Mapping[tuple[str, str, str], bytes] | None = None,
) -> dict[int, list[Found]]:
    """The tokens whose digest is in the index, as Found by record key (each distinct value hashed once:
    records repeat the same words, product names, statuses).

    A weak value only ever counts for subjects of the strong values of its record (a composite, a
    household made exact, a partial narrowed: always an intersection with them), so its subjects are
    the holders among those alone, and only those (digest, subject) pairs are confirmed. A common
    name is held by a number of subjects that grows with the set: confirming all of them per block
    made a dump of N users cost N squared.
    """
    if not read:
        return {}
    distinct: dict[tuple[str, str], dict[str, int]] = {}
    for _, rec, _, _, tokens in read:
        domain = rec.domain
        for canonical, form, _ in tokens:
            values = distinct.get((domain, form))
            if values is None:
                values = distinct[(domain, form)] = {}
            values[canonical] = 0
    digests: list[bytes] = []
    for (domain, form), values in distinct.items():
        hashed = (
            rules.digest_many(domain, list(values), form)
            if digest_of is None
            else [digest_of[(domain, form, canonical)] for canonical in values]  # hashed by the kernel's reader
        )
        for canonical, digest in zip(values, hashed, strict=True):
            values[canonical] = len(digests)
            digests.append(digest)
    matched = rules.candidates(digests)
    out: dict[int, list[Found]] = {}
    if not matched:
        return out
    # (domain, form) -> canonical -> position, for the values in the index only (few of them)
    hits: dict[tuple[str, str], dict[str, int]] = {}
    for (domain, form), values in distinct.items():
        hits[(domain, form)] = {canonical: p for canonical, p in values.items() if p in matched}
    # key -> the record's strong subjects: (sorted, as a set); the set is None for one subject (a dump's row)
    record_subjects: dict[int, tuple[tuple[int, ...], set[int] | None]] = {}
    holder_sets: dict[int, frozenset[int]] = {}
    located: list[tuple[int, Recognizer, str, int, str, str, int, int, tuple[int, ...]]] = []
    for key, rec, text, base_line, tokens in read:
        domain = rec.domain
        for canonical, form, start in tokens:
            position = hits[(domain, form)].get(canonical)
            if position is None:
                continue
            strong = record_subjects.get(key)
            if strong is None:
                strong = record_subjects[key] = _strong_subjects(groups[key])
            holders = matched[position]
            if strong[1] is None:  # one strong subject: it, if it holds the value
                held = holder_sets.get(position)
                if held is None:
                    held = holder_sets[position] = frozenset(holders)
                subjects = strong[0] if strong[0][0] in held else ()
            elif len(holders) < len(strong[0]):
                subjects = tuple(sorted(s for s in holders if s in strong[1]))
            else:
                held = holder_sets.get(position)
                if held is None:
                    held = holder_sets[position] = frozenset(holders)
                subjects = tuple(s for s in strong[0] if s in held)
            if subjects:
                located.append((key, rec, text, base_line, canonical, form, start, position, subjects))
    if rules.confirm_pairs is not None and located:
        pairs = {(digests[position], s): None for *_, position, subjects in located for s in subjects}
        confirmed = rules.confirm_pairs(list(pairs))
        held_pairs = confirmed if isinstance(confirmed, (set, frozenset)) else set(confirmed)
        located = [
            (key, rec, text, base_line, canonical, form, start, position, kept)
            for key, rec, text, base_line, canonical, form, start, position, subjects in located
            if (kept := tuple(s for s in subjects if (digests[position], s) in held_pairs))
        ]
    newlines: dict[int, list[int]] = {}  # per text (by id): its newline offsets, found once
    # per recognizer: whether its reported type follows the value, and its extractor's name
    own: dict[Recognizer, tuple[bool, str]] = {}
    new = tuple.__new__
    for key, rec, text, base_line, canonical, form, start, position, subjects in located:
        if "\n" not in text:  # a line record's text is its line
            line_start = line = 0
            line_text = text
        else:
            nl = newlines.get(id(text))
            if nl is None:
                nl = newlines[id(text)] = [m.start() for m in _NEWLINE.finditer(text)]
            # The token's line comes from the text's newline offsets (a bisection, never a count from
            # the start of the text).
            line = bisect.bisect_left(nl, start)
            line_start = nl[line - 1] + 1 if line else 0
            line_text = text[line_start : nl[line] if line < len(nl) else len(text)]
        flags = own.get(rec)
        if flags is None:
            flags = own[rec] = (
                getattr(rec.hit_type, "__func__", None) is not Recognizer.hit_type,
                f"{rec.id_type}.record",
            )
        f = new(
            Found,  # Found.of(...) as a tuple.__new__ (the type follows the value only if hit_type is overridden)
            (
                rec,
                rec.hit_type(canonical) if flags[0] else rec.id_type,
                canonical,
                form,
                digests[position],
                subjects,
                base_line + line,
                start - line_start,
                rec.token_classes(text, start, canonical) if form == "full" else (OBF_MASKED,),
                flags[1],
                line_text,
            ),
        )
        found = out.get(key)
        if found is None:
            out[key] = [f]
        else:
            found.append(f)
    return out


def _strong_subjects(found: list[Found]) -> tuple[tuple[int, ...], set[int] | None]:
    """A record's strong subjects, sorted, and as a set (None when there is one subject)."""
    first = found[0][5]
    if len(first) == 1 and all(f[5] == first for f in found):
        return first, None
    union = {s for f in found for s in f[5]}
    return tuple(sorted(union)), union


def _record_hits(
    ctx: RecordContext, strong: list[Found], weak_full: Sequence[Found], weak_part: Sequence[Found]
) -> list[Hit]:
    if len(strong[0].subjects) == 1:
        one = _one_subject_hits(ctx, strong, weak_full)
        if one is not None:
            return one
    weak_full = _unique(weak_full)
    weak_part = _unique(weak_part)
    full: list[Found] = []
    partial: list[Found] = []
    for f in strong:
        (full if f.form == "full" else partial).append(f)
    exact, households = _households(full, weak_full)
    held = [set(f.subjects) for f in exact]
    exact_subjects = set().union(*held)
    corroboration: list[list[str]] = [[] for _ in exact]
    if len(exact) > 1:
        for f, subjects, found_with in zip(exact, held, corroboration, strict=True):
            for other in exact:
                if other.id_type != f.id_type and not subjects.isdisjoint(other.subjects):
                    found_with.append(other.id_type)
    hits: list[Hit] = []
    weak_narrowed: list[Found] = []
    for w in weak_full:
        inter = exact_subjects.intersection(w.subjects)
        if not inter:
            weak_narrowed.append(w)
            continue  # a stranger who shares a name, or no strong evidence: never a hit
        partners = [k for k, subjects in enumerate(held) if not subjects.isdisjoint(inter)]
        for k in partners:
            corroboration[k].append(w.id_type)
        composite = w.with_subjects(tuple(sorted(inter)))
        weak_narrowed.append(composite)
        conf_base = max(exact[k].rec.base_confidence for k in partners)
        hits.append(_hit(ctx, composite, COMPOSITE, conf_base, corroborated=tuple(exact[k].id_type for k in partners)))
    for f, found_with in zip(exact, corroboration, strict=True):
        hits.append(_hit(ctx, f, EXACT, f.rec.base_confidence, corroborated=tuple(dict.fromkeys(found_with))))
    partial += households
    if not partial:
        return hits
    # Each partial hit narrows by the evidence as narrowed so far (earlier partials included).
    evidence = exact + weak_narrowed + list(weak_part) + partial
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
        narrowed_p = evidence[first_partial + k] = p.with_subjects(tuple(sorted(compatible)))
        notes = (HOUSEHOLD_NOTE,) if p.form == "full" else ()
        hits.append(_hit(ctx, narrowed_p, PARTIAL, PARTIAL_BASE, narrowed=tuple(dict.fromkeys(narrowed)), notes=notes))
    return hits


def _one_subject_hits(ctx: RecordContext, strong: list[Found], weak_full: Sequence[Found]) -> list[Hit] | None:
    """:func:`_record_hits` for a record whose strong values are all full values of one and the same
    single subject, one of them not a household value (a dump's row of one person: the common case),
    with the same hits in the same order; None for any other record. Every strong value is exact (a
    household value shares its subject with the others), each corroborated by the other types; a
    weak value of the subject is a composite of it, corroborated by every strong value; no value is
    partial.

    A dump's rows are alike: the same types in the same columns, with the same classes. A record's
    hits depend on its values only through their digests, lines and masks once its shape (per value:
    recognizer, type, form, classes, extractor, field number, context words, validation label,
    notes) is known, so the hits of the first record of a shape are kept as templates and the next
    records' hits are built from them (:func:`_one_subject_built` builds the first, by :func:`_hit`).
    """
    subjects = strong[0][5]
    exact: list[Found] = []
    households: list[Found] = []
    own = ctx.own
    for f in strong:  # (Found fields by position: the hot loop of a dump)
        if f[5] != subjects or f[3] != "full":
            return None
        rec = f[0]
        flags = own.get(rec)
        if flags is None:
            flags = own[rec] = _own(rec)
        (households if flags[2] else exact).append(f)
    if not exact:
        return None  # households alone: partial hits
    if households:
        exact += households
    subject = subjects[0]
    if not weak_full:
        values = []
    elif len(weak_full) == 1:
        values = [weak_full[0]] if subject in weak_full[0][5] else []
    else:
        values = [w for w in _unique(weak_full) if subject in w[5]]
    weak = len(values)
    values += exact
    columns = ctx.columns
    delim = ctx.delimiter
    quiet = ctx.quiet
    # The key, flat: per value its recognizer, type, form, classes, extractor, field number and context
    # words, then its validation label and notes if its recognizer's can differ by value.
    shape: list[object] = [weak]
    text = None
    loud = False
    for rec, id_type, canonical, form, _, _, _, start, obfuscation, extractor, line_text in values:
        if line_text is not text:  # a line record's values share its text
            text = line_text
            if columns and not ctx.delimiter:
                delim = next((d for d in ("\t", ",", "|", ";") if d in line_text), ",")
            if line_text is not quiet[0]:
                ctx.context(id_type, line_text)  # marks the text quiet if it holds no context word
            loud = line_text is not quiet[0]
        shape += (
            rec,
            id_type,
            form,
            obfuscation,
            extractor,
            line_text.count(delim, 0, start) if columns else -1,  # type: ignore[arg-type]
            ctx.context(id_type, line_text) if loud else (),
        )
        flags = own.get(rec)
        if flags is None:
            flags = own[rec] = _own(rec)
        if flags[0]:
            shape.append(rec.validation_label(canonical) if form == "full" else None)
        if flags[1]:
            shape.append(rec.notes(canonical, form))
    key = tuple(shape)
    templates = ctx.shapes.get(key)
    if templates is None:
        built = _one_subject_built(ctx, exact, values[:weak], subject)
        if len(ctx.shapes) >= _SHAPES_MAX:
            ctx.shapes.clear()
        ctx.shapes[key] = [
            (h.id_type, h.match_kind, h.obfuscation, h.confidence, h.form, h.explanation, dict(h.extra)) for h in built
        ]
        return built
    key_id = ctx.rules.key_id
    line_base = ctx.line_base
    hits: list[Hit] = []
    append = hits.append
    for f, (id_type, kind, obfuscation, confidence, form, explanation, extra) in zip(values, templates, strict=True):
        hit = HitBuilder(
            id_type,
            f[4],
            key_id,
            subjects,
            kind,
            obfuscation,
            confidence,
            f[0].mask(f[2], form),
            line_base + f[6],
            form,
            explanation,
            extra.copy(),
        )
        hit.__class__ = Hit  # type: ignore[assignment]
        append(hit)  # type: ignore[arg-type]
    return hits


#: Shapes kept per block (a dump has a handful; text with varied columns and classes a few more).
_SHAPES_MAX = 1024


def _own(rec: Recognizer) -> tuple[bool, bool, bool]:
    """Whether ``rec``'s validation label, and its notes, can differ from value to value (overridden),
    and whether its values are household values."""
    return (
        getattr(rec.validation_label, "__func__", None) is not Recognizer.validation_label,
        getattr(rec.notes, "__func__", None) is not Recognizer.notes,
        rec.household,
    )


def _one_subject_built(ctx: RecordContext, exact: list[Found], weak: list[Found], subject: int) -> list[Hit]:
    """The hits of a one-subject record (``exact``: its strong values, non-household first; ``weak``:
    its distinct weak values held by ``subject``), built by :func:`_hit` one by one."""
    types = [f.id_type for f in exact]
    hits: list[Hit] = []
    weak_types: list[str] = []
    if weak:
        partners = tuple(types)
        conf_base = max(f.rec.base_confidence for f in exact)
        for w in weak:
            weak_types.append(w.id_type)
            composite = w if len(w.subjects) == 1 else w.with_subjects((subject,))
            hits.append(_hit(ctx, composite, COMPOSITE, conf_base, corroborated=partners))
    for f in exact:
        own = f.id_type
        found_with = [t for t in types if t != own] + weak_types
        hits.append(_hit(ctx, f, EXACT, f.rec.base_confidence, corroborated=tuple(dict.fromkeys(found_with))))
    return hits


HOUSEHOLD_NOTE = "an address is a household: exact only beside another identifier of the same subject"


def _households(full: list[Found], weak_full: list[Found]) -> tuple[list[Found], list[Found]]:
    """(exact evidence, household values left as weaker evidence).

    A household value (an address) becomes exact, narrowed to the subjects it shares, only beside a
    non-household identifier or a name/birth date of the same subject in the record; alone it stays
    compatible with every subject who holds it and is reported as a partial hit.
    """
    exact = [f for f in full if not f.rec.household]
    if len(exact) == len(full):
        return exact, []
    households = [f for f in full if f.rec.household]
    others = {s for f in exact + weak_full for s in f.subjects}
    alone: list[Found] = []
    for f in households:
        shared = tuple(s for s in f.subjects if s in others)
        if shared:
            exact.append(f.with_subjects(shared))
        else:
            alone.append(f)
    return exact, alone


def _unique(found: Sequence[Found]) -> list[Found]:
    if len(found) < 2:
        return list(found)
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
    rec, id_type, canonical, form, digest, subjects, line, start, obfuscation, extractor, line_text = f
    header = None
    columns = ctx.columns
    if columns:  # the column the value is in: delimiters before it on its line
        delim = ctx.delimiter or next((d for d in ("\t", ",", "|", ";") if d in line_text), ",")
        field = line_text.count(delim, 0, start)
        if field < len(columns):
            header = columns[field]
    header_match = header if header is not None and ctx.rules.header_for(id_type, header) else None
    context = () if line_text is ctx.quiet[0] else ctx.context(id_type, line_text)
    evidence = (
        base,
        kind,
        extractor,
        rec.validation_label(canonical) if form == "full" else None,
        obfuscation,
        header_match,
        context,
        corroborated,
        len(subjects),
        narrowed,
        notes + rec.notes(canonical, form),
    )
    confidence, explanation = cached_score(evidence)
    extra: dict[str, str] = {}
    if header is not None:
        extra["column"] = header
    if kind == PARTIAL:
        extra["compatible_subjects"] = str(len(subjects))
    if corroborated:
        extra["corroborated_by"] = ",".join(corroborated)
    return build_hit(
        id_type,
        digest,
        ctx.rules.key_id,
        subjects,
        kind,
        obfuscation,
        confidence,
        rec.mask(canonical, form),
        ctx.line_base + line,
        form,
        explanation,
        extra,
    )
