"""False-positive suppression rules (take a Session, never commit).

A rule names the identifier by (subject, id type) when the hit it was made from had a subject, so it
survives a key rotation; otherwise (a partial hit compatible with several subjects) by
(key id, id type, form, digest). Its scope is one source, or every source when ``source`` is NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from storage.models.cases import SuppressionRule
from storage.models.core import HitRecord
from storage.repositories.cases import chunks


def _identity(hit: HitRecord) -> ColumnElement[bool]:
    if hit.subject_id is not None:
        return and_(SuppressionRule.subject_id == hit.subject_id, SuppressionRule.id_type == hit.id_type)
    return and_(
        SuppressionRule.subject_id.is_(None),
        SuppressionRule.digest == hit.digest,
        SuppressionRule.key_id == hit.key_id,
        SuppressionRule.id_type == hit.id_type,
        SuppressionRule.form == hit.form,
    )


def add_rule(
    session: Session, hit: HitRecord, *, source: str | None, actor: str, at: datetime, note: str
) -> SuppressionRule:
    """A suppression rule for ``hit``'s identifier within ``source`` (None: everywhere); idempotent."""
    scope = SuppressionRule.source.is_(None) if source is None else SuppressionRule.source == source
    existing = session.scalars(select(SuppressionRule).where(_identity(hit), scope)).first()
    if existing is not None:
        return existing
    rule = SuppressionRule(
        key_id=hit.key_id,
        id_type=hit.id_type,
        form=hit.form,
        digest=hit.digest,
        subject_id=hit.subject_id,
        masked=hit.masked,
        source=source,
        note=note,
        actor=actor,
        created_at=at,
        from_hit_id=hit.id,
    )
    session.add(rule)
    session.flush()
    return rule


def rule_matches(rule: SuppressionRule, hit: HitRecord) -> bool:
    """Whether ``rule`` suppresses ``hit`` (same identifier, same or any source)."""
    if rule.source not in (None, hit.source) or rule.id_type != hit.id_type:
        return False
    if rule.subject_id is not None:
        return rule.subject_id == hit.subject_id
    return hit.subject_id is None and (rule.key_id, rule.form, rule.digest) == (hit.key_id, hit.form, hit.digest)


def rules_for(session: Session, hits: Sequence[HitRecord]) -> dict[int, list[SuppressionRule]]:
    """Every rule that suppresses each hit (hits no rule covers are left out), oldest rule first."""
    if not hits:
        return {}
    candidates: dict[int, SuppressionRule] = {}
    subjects = sorted({h.subject_id for h in hits if h.subject_id is not None})
    digests = sorted({h.digest for h in hits if h.subject_id is None})
    for part in chunks(subjects):
        candidates.update(
            (r.id, r) for r in session.scalars(select(SuppressionRule).where(SuppressionRule.subject_id.in_(part)))
        )
    for digest_part in chunks(digests):
        statement = select(SuppressionRule).where(
            SuppressionRule.subject_id.is_(None), SuppressionRule.digest.in_(digest_part)
        )
        candidates.update((r.id, r) for r in session.scalars(statement))
    ordered = [candidates[i] for i in sorted(candidates)]
    found: dict[int, list[SuppressionRule]] = {}
    for hit in hits:
        matching = [rule for rule in ordered if rule_matches(rule, hit)]
        if matching:
            found[hit.id] = matching
    return found


def list_rules(session: Session) -> list[SuppressionRule]:
    return list(session.scalars(select(SuppressionRule).order_by(SuppressionRule.id)))


def delete_rule(session: Session, rule: SuppressionRule) -> None:
    """Remove a rule; labels it applied keep their history (their ``rule_id`` becomes NULL)."""
    session.delete(rule)
    session.flush()
