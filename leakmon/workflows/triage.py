"""Triage labels and false-positive suppression.

A ``false_positive`` label creates a suppression rule for the hit's *context*: the same identifier
(the same subject's identifier of that type; for a hit without a subject, the same keyed digest of
the same type and form) seen at the same source (channel, forum or paste site; ``everywhere=True``
drops the source). Later runs label matching new hits ``false_positive`` automatically
(``actor="rule:<id>"``), so they leave counts, exports and the legal clock, and the run records which
rule applied. Any other label on a hit a rule covers lifts those rules: a human said it is real.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from leakmon.errors import InputError, NotFoundError
from leakmon.settings import IncidentSettings
from leakmon.workflows import audit
from storage.models.cases import EXCLUDING_LABELS, LABELS, HitLabel, SuppressionRule
from storage.models.core import HitRecord
from storage.repositories.cases import add_label, current_labels
from storage.repositories.cases_rules import add_rule, delete_rule, list_rules, rules_for
from storage.repositories.incident_views import current_rule_labels, delete_labels, latest_label, post_of_hit

RULE_COLUMNS = ["rule_id", "id_type", "source", "masked", "actor", "created_at", "note", "identity", "from_hit_id"]


def is_excluded(label: HitLabel | None) -> bool:
    """A hit labelled false positive, seller contact or test data is not evidence of a leak."""
    return label is not None and label.label in EXCLUDING_LABELS


@dataclass(frozen=True, slots=True)
class Labelled:
    """A label and what it did to suppression: the rule it made, or the rules it lifted."""

    label: HitLabel
    lifted: tuple[int, ...] = ()

    @property
    def rule_id(self) -> int | None:
        return self.label.rule_id


def label_hit(
    session: Session,
    hit_id: int,
    label: str,
    *,
    actor: str,
    note: str = "",
    everywhere: bool = False,
    at: datetime | None = None,
) -> Labelled:
    """Label a hit; a false positive also becomes a suppression rule, any other label lifts the rules
    that cover the hit (a confirmed hit must not keep its later sightings suppressed)."""
    if label not in LABELS:
        raise InputError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
    hit = session.get(HitRecord, hit_id)
    if hit is None:
        raise NotFoundError(f"hit {hit_id} does not exist")
    at = at or datetime.now(UTC)
    rule_id = None
    lifted: tuple[int, ...] = ()
    if label == "false_positive":
        rule = add_rule(session, hit, source=None if everywhere else hit.source, actor=actor, at=at, note=note)
        rule_id = rule.id
    else:
        rules = rules_for(session, [hit]).get(hit.id, [])
        lifted = tuple(rule.id for rule in rules)
        for rule in rules:
            delete_rule(session, rule)
    return Labelled(add_label(session, hit.id, label, actor=actor, at=at, note=note, rule_id=rule_id), lifted)


def apply_suppression(session: Session, hits: Sequence[HitRecord], *, at: datetime | None = None) -> list[int]:
    """Label the hits that a suppression rule covers; returns their ids."""
    rules = rules_for(session, hits)
    at = at or datetime.now(UTC)
    labelled = current_labels(session, rules)
    applied: list[int] = []
    for hit_id, matching in rules.items():
        if labelled.get(hit_id) is not None:
            continue  # a human already decided
        rule = matching[0]
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


def rule_rows(session: Session) -> list[dict[str, Any]]:
    """Every suppression rule as a row (see :data:`RULE_COLUMNS`): masked value only, never a digest."""
    return [_row(rule) for rule in list_rules(session)]


def remove_rule(session: Session, rule_id: int) -> dict[str, Any]:
    """Delete one rule; returns what it was (for the audit entry and the confirmation)."""
    rule = session.get(SuppressionRule, rule_id)
    if rule is None:
        raise NotFoundError(f"suppression rule {rule_id} does not exist")
    row = _row(rule)
    delete_rule(session, rule)
    return row


def _row(rule: SuppressionRule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "id_type": rule.id_type,
        "source": rule.source or "(everywhere)",
        "masked": rule.masked,
        "actor": rule.actor,
        "created_at": rule.created_at,
        "note": rule.note,
        "identity": "subject" if rule.subject_id is not None else "digest",
        "from_hit_id": rule.from_hit_id,
    }


@dataclass(frozen=True, slots=True)
class Undone:
    """What undoing a hit's current label did: the label removed, the label now current, rules lifted."""

    hit_id: int
    removed: str
    removed_actor: str
    now: str | None
    rule_removed: int | None = None
    unlabelled: tuple[int, ...] = ()


def undo_label(session: Session, hit_id: int) -> Undone:
    """Remove a hit's current label: the previous one (or none) is current again.

    A false positive's rule goes with it, with the labels that rule gave other hits and that are
    still theirs (see :func:`lift_rule`). Rules the undone label lifted are not restored (the audit
    entry of that label names them). The audit log keeps what was undone; the label row is deleted.
    """
    if session.get(HitRecord, hit_id) is None:
        raise NotFoundError(f"hit {hit_id} does not exist")
    latest = latest_label(session, hit_id)
    if latest is None:
        raise InputError(f"hit {hit_id} has no label to undo")
    removed, actor, rule_id = latest.label, latest.actor, latest.rule_id
    made_rule = removed == "false_positive" and rule_id is not None and not actor.startswith("rule:")
    delete_labels(session, [latest.id])
    unlabelled: tuple[int, ...] = ()
    if made_rule and rule_id is not None and session.get(SuppressionRule, rule_id) is not None:
        unlabelled = tuple(lift_rule(session, rule_id)[1])
    now = latest_label(session, hit_id)
    return Undone(hit_id, removed, actor, now.label if now else None, rule_id if made_rule else None, unlabelled)


def lift_rule(session: Session, rule_id: int) -> tuple[dict[str, Any], list[int]]:
    """Delete a rule and the false-positive labels it gave hits that still carry them; returns the
    rule as it was and those hits' ids (their incidents need a refresh). Human labels stay."""
    auto = current_rule_labels(session, f"rule:{rule_id}")
    row = remove_rule(session, rule_id)
    delete_labels(session, [label.id for label in auto])
    return row, [label.hit_id for label in auto]


def refresh_hits(session: Session, hit_ids: Sequence[int], rules: IncidentSettings) -> None:
    """Refresh the incidents of these hits' posts, each post once (after labels changed)."""
    from leakmon.workflows.incidents import refresh_for_hit  # incidents imports this module

    posts: dict[int, int] = {}
    for hit_id in hit_ids:
        posts.setdefault(post_of_hit(session, hit_id), hit_id)
    for hit_id in posts.values():
        refresh_for_hit(session, hit_id, rules)


def undo_details(undone: Undone) -> dict[str, Any]:
    """The ``unlabel_hit`` audit details of an undo (the console and the CLI write the same)."""
    details: dict[str, Any] = {"undone": undone.removed, "by": undone.removed_actor, "now": str(undone.now)}
    if undone.rule_removed is not None:
        details.update(removed_rule=undone.rule_removed, unlabelled=len(undone.unlabelled))
    return details


def unlabel(
    session: Session, hit_id: int, *, actor: str | None, rules: IncidentSettings, via: str | None = None
) -> Undone:
    """``hits unlabel`` and the console's undo: undo the hit's current label (see :func:`undo_label`),
    refresh the incidents of the hits concerned, audited as ``unlabel_hit``."""
    undone = undo_label(session, hit_id)
    refresh_hits(session, [hit_id, *undone.unlabelled], rules)
    details: dict[str, Any] = {"via": via} if via is not None else {}
    details.update(undo_details(undone))
    audit.record(session, "unlabel_hit", f"hit {hit_id}", rows=1, actor=actor, details=details)
    return undone


def drop_rule(
    session: Session,
    rule_id: int,
    *,
    keep_labels: bool,
    actor: str | None,
    rules: IncidentSettings,
    note: str | None = None,
    via: str | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """``hits rules remove`` and the console's removal: delete a rule and, unless ``keep_labels``, the
    labels it gave hits that still carry them (their incidents refreshed), audited as ``remove_rule``.
    Returns the rule as it was and the hits it unlabelled."""
    if keep_labels:
        row, returned = remove_rule(session, rule_id), list[int]()
    else:
        row, returned = lift_rule(session, rule_id)
        refresh_hits(session, returned, rules)
    details: dict[str, Any] = {"id_type": row["id_type"], "source": row["source"]}
    if note is not None:
        details["note"] = note
    details["unlabelled"] = len(returned)
    if via is not None:
        details["via"] = via
    audit.record(session, "remove_rule", f"rule {rule_id}", rows=1, actor=actor, details=details)
    return row, returned
