"""Confidence and explanation for a hit: every finding says why it has the confidence it has."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from matchers.model import (
    COMPOSITE,
    EXACT,
    OBF_EXCEL_ZERO,
    PARTIAL,
    Explanation,
)

HEADER_BOOST = 0.08
CONTEXT_BOOST = 0.04
CORROBORATION_BOOST = 0.1
CHECKSUM_BOOST = 0.03
EXCEL_PENALTY = 0.15


@dataclass(slots=True, unsafe_hash=True)  # not frozen: a frozen __init__ costs 6x more per hit
class Evidence:
    """What the engine knows about a found value when it scores it (hashable: scores are cached).

    Treat as immutable once built: it is a cache key.
    """

    base: float
    match_kind: str
    extractor: str
    validation: str | None = None
    obfuscation: tuple[str, ...] = ()
    header_match: str | None = None  # the column header, when it names this type
    context: tuple[str, ...] = ()  # context words seen on the record
    corroborated_by: tuple[str, ...] = ()  # other types of the same subject in the record
    compatible: int = 1  # number of compatible subjects (partial hits)
    narrowed_by: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


#: Evidence fields in :class:`Evidence` order (what :func:`cached_score` takes).
EvidenceFields = tuple[
    float,
    str,
    str,
    str | None,
    tuple[str, ...],
    str | None,
    tuple[str, ...],
    tuple[str, ...],
    int,
    tuple[str, ...],
    tuple[str, ...],
]
_SCORED: dict[EvidenceFields, tuple[float, Explanation]] = {}
_SCORED_MAX = 4096


def cached_score(fields: EvidenceFields) -> tuple[float, Explanation]:
    """:func:`score` of ``Evidence(*fields)``, cached by the plain tuple (the hot path: a dump's hits
    share a handful of evidence shapes, and a tuple is built and hashed several times faster)."""
    found = _SCORED.get(fields)
    if found is None:
        if len(_SCORED) >= _SCORED_MAX:
            _SCORED.clear()
        found = _SCORED[fields] = score(Evidence(*fields))
    return found


@functools.lru_cache(maxsize=4096)
def score(ev: Evidence) -> tuple[float, Explanation]:
    """Confidence in [0, 1] and the reasons that produced it.

    Cached: a dump's hits share a handful of evidence shapes, and both results are immutable.
    """
    reasons: list[str] = [f"{ev.match_kind} match on keyed digest (base {ev.base:.2f})"]
    conf = ev.base
    if ev.match_kind == PARTIAL:
        conf = ev.base / (1.0 + math.log10(max(ev.compatible, 1)))
        reasons.append(f"masked value compatible with {ev.compatible} subject(s)")
        if ev.narrowed_by:
            reasons.append("compatible set narrowed by " + ", ".join(ev.narrowed_by))
    if ev.validation in ("checksum_ok", "luhn_ok"):
        conf += CHECKSUM_BOOST
        reasons.append(f"validation: {ev.validation}")
    elif ev.validation == "checksum_mismatch":
        reasons.append("checksum mismatch ignored (numbers issued since 2020-10 are random)")
    if OBF_EXCEL_ZERO in ev.obfuscation and ev.header_match is None:
        conf -= EXCEL_PENALTY
        reasons.append("leading zero restored without a phone column header")
    if ev.obfuscation:
        reasons.append("de-obfuscated: " + "+".join(ev.obfuscation))
    if ev.header_match is not None:
        conf += HEADER_BOOST
        reasons.append("column header names the type")
    if ev.context:
        conf += CONTEXT_BOOST
        reasons.append("context words on the record")
    if ev.corroborated_by:
        conf += CORROBORATION_BOOST
        reasons.append("same subject's " + ", ".join(ev.corroborated_by) + " in the record")
    if ev.match_kind == COMPOSITE:
        reasons.append("weak identifier counted only beside a strong one of the same subject")
    reasons.extend(ev.notes)
    conf = min(max(conf, 0.01), 0.99 if ev.match_kind == EXACT or ev.match_kind == COMPOSITE else 0.9)
    context = ((ev.header_match,) if ev.header_match else ()) + ev.context
    return round(conf, 3), Explanation(ev.extractor, ev.validation, context, tuple(reasons))
