"""Triage labels and false-positive suppression.

A ``false_positive`` label creates a suppression rule for the hit's *context*: the same keyed
digest of the same identifier type and form under the same HMAC key, seen at the same source
(channel, forum or paste site; ``everywhere=True`` drops the source). Later runs label matching new
hits ``false_positive`` automatically (``actor="rule:<id>"``), so they leave counts, exports and
the legal clock, and the run records which rule applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from leakmon.errors import InputError, NotFoundError
from storage.models.cases import EXCLUDING_LABELS, LABELS, HitLabel
from storage.models.core import HitRecord
from storage.repositories.cases import add_label, add_rule, current_labels, matching_rules


def is_excluded(label: HitLabel | None) -> bool:
    """A hit labelled false positive, seller contact or test data is not evidence of a leak."""
    return label is not None and label.label in EXCLUDING_LABELS


def label_hit(
    session: Session,
    hit_id: int,
    label: str,
    *,
    actor: str,
    note: str = "",
    everywhere: bool = False,
    at: datetime | None = None,
) -> HitLabel:
    """Label a hit; a false positive also becomes a suppression rule for later runs."""
    if label not in LABELS:
        raise InputError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
    hit = session.get(HitRecord, hit_id)
    if hit is None:
        raise NotFoundError(f"hit {hit_id} does not exist")
    at = at or datetime.now(UTC)
    rule_id = None
    if label == "false_positive":
        rule = add_rule(session, hit, source=None if everywhere else hit.source, actor=actor, at=at, note=note)
        rule_id = rule.id
    return add_label(session, hit.id, label, actor=actor, at=at, note=note, rule_id=rule_id)


def apply_suppression(session: Session, hits: Sequence[HitRecord], *, at: datetime | None = None) -> list[int]:
    """Label the hits that a suppression rule covers; returns their ids."""
    rules = matching_rules(session, hits)
    at = at or datetime.now(UTC)
    labelled = current_labels(session, rules)
    applied: list[int] = []
    for hit_id, rule in rules.items():
        if labelled.get(hit_id) is not None:
            continue  # a human already decided
        add_label(
            session,
            hit_id,
            "false_positive",
            actor=f"rule:{rule.id}",
            at=at,
            note="suppressed by rule",
            rule_id=rule.id,
        )
        applied.append(hit_id)
    return applied
