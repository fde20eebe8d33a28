"""Takedown cases and their state history (take a Session, never commit).

The state machine itself lives in ``leakmon.workflows.takedown``; this module only stores.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models.cases import TakedownCase, TakedownEvent


def create_case(
    session: Session,
    *,
    scope: str,
    post_id: int | None,
    source: str,
    permalink: str | None,
    actor: str,
    at: datetime,
    note: str = "",
) -> TakedownCase:
    case = TakedownCase(
        scope=scope,
        post_id=post_id,
        source=source,
        permalink=permalink,
        state="open",
        opened_at=at,
        updated_at=at,
        note=note,
    )
    session.add(case)
    session.flush()
    session.add(TakedownEvent(case_id=case.id, from_state=None, to_state="open", at=at, actor=actor, note=note))
    return case


def record_transition(
    session: Session, case: TakedownCase, to_state: str, *, actor: str, at: datetime, note: str = ""
) -> TakedownEvent:
    event = TakedownEvent(case_id=case.id, from_state=case.state, to_state=to_state, at=at, actor=actor, note=note)
    case.state = to_state
    case.updated_at = at
    session.add(event)
    session.flush()
    return event


def find_active_case(session: Session, *, scope: str, post_id: int | None, source: str) -> TakedownCase | None:
    """An open or requested case for the same post (or channel), if one exists."""
    statement = select(TakedownCase).where(TakedownCase.scope == scope, TakedownCase.state.in_(("open", "requested")))
    if scope == "post":
        statement = statement.where(TakedownCase.post_id == post_id)
    else:
        statement = statement.where(TakedownCase.source == source)
    return session.scalars(statement.order_by(TakedownCase.id)).first()


def active_cases_for_post(session: Session, post_id: int) -> list[TakedownCase]:
    """Open or requested cases about this very post (a channel case needs the channel gone)."""
    statement = select(TakedownCase).where(
        TakedownCase.state.in_(("open", "requested")),
        TakedownCase.scope == "post",
        TakedownCase.post_id == post_id,
    )
    return list(session.scalars(statement.order_by(TakedownCase.id)))


def list_cases(session: Session, *, state: str | None = None) -> list[TakedownCase]:
    statement = select(TakedownCase)
    if state is not None:
        statement = statement.where(TakedownCase.state == state)
    return list(session.scalars(statement.order_by(TakedownCase.id)))


def case_history(session: Session, case_id: int) -> list[TakedownEvent]:
    return list(
        session.scalars(select(TakedownEvent).where(TakedownEvent.case_id == case_id).order_by(TakedownEvent.id))
    )
