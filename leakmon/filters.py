"""Filter values checked against what exists: a typo is an error listing the valid values, not 0 rows.

An analyst who types ``--id-type fone`` must not read "no hits" as "no phone numbers leaked".
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from leakmon.app import App
from leakmon.errors import InputError
from storage.models.core import HitRecord, Post


def check_choice(option: str, value: str | None, valid: Iterable[str]) -> None:
    """Refuse ``value`` unless it is one of ``valid`` (an InputError naming them)."""
    choices = sorted(set(valid))
    if value is not None and value not in choices:
        listed = ", ".join(choices) if choices else "none yet"
        raise InputError(f"{option} {value!r} is not a known value (known: {listed})")


def check_source(app: App, session: Session, source: str | None) -> None:
    """A source is known when it is configured or anything was ever stored from it."""
    if source is None:
        return
    stored = set(session.scalars(union(select(Post.source).distinct(), select(HitRecord.source).distinct())))
    configured = set(app.settings.sources) | set(app.settings.telegram.get("chats", {}))
    check_choice("--source", source, stored | configured | {"scan"})


def check_id_type(app: App, session: Session, id_type: str | None) -> None:
    """An identifier type is known when hits of it are stored or the registry (with custom types) has it."""
    if id_type is None:
        return
    if session.scalar(select(HitRecord.id).where(HitRecord.id_type == id_type).limit(1)) is not None:
        return
    from leakmon.runtime import build_registry  # the registry loads every recognizer: only when needed

    check_choice("--id-type", id_type, build_registry(app).types)
