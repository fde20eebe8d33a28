"""Takedown cases: one per post or per channel, with a checked state machine and full history.

    open ──> requested ──> removed
      │          ├──────> refused ──> requested (ask again / escalate)
      │          └──────> expired
      ├──> removed (gone before we asked)
      └──> expired

``removed`` and ``expired`` are final. When a later crawl finds a post gone, ``on_post_removed``
moves its open or requested post cases to ``removed`` (actor ``crawler``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from leakmon.errors import InputError, NotFoundError
from storage.models.cases import TAKEDOWN_STATES, TakedownCase, TakedownEvent
from storage.models.core import Post
from storage.repositories.cases_takedown import (
    active_cases_for_post,
    case_history,
    create_case,
    find_active_case,
    record_transition,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"requested", "removed", "expired"}),
    "requested": frozenset({"removed", "refused", "expired"}),
    "refused": frozenset({"requested"}),
    "removed": frozenset(),
    "expired": frozenset(),
}


class IllegalTransition(InputError):
    """A takedown case cannot move to the requested state from where it is."""


def open_case(
    session: Session, post_id: int, *, actor: str, channel: bool = False, note: str = "", at: datetime | None = None
) -> tuple[TakedownCase, bool]:
    """Open a case for a post (or its whole channel); returns (case, created). An active one is reused."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFoundError(f"post {post_id} does not exist")
    scope = "channel" if channel else "post"
    existing = find_active_case(session, scope=scope, post_id=post.id, source=post.source)
    if existing is not None:
        return existing, False
    case = create_case(
        session,
        scope=scope,
        post_id=post.id,
        source=post.source,
        permalink=post.url,
        actor=actor,
        at=at or datetime.now(UTC),
        note=note,
    )
    return case, True


def get_case(session: Session, case_id: int) -> TakedownCase:
    case = session.get(TakedownCase, case_id)
    if case is None:
        raise NotFoundError(f"takedown case {case_id} does not exist")
    return case


def set_state(
    session: Session, case_id: int, state: str, *, actor: str, note: str = "", at: datetime | None = None
) -> TakedownEvent:
    """Move a case to ``state``; illegal transitions are refused with the allowed ones named."""
    if state not in TAKEDOWN_STATES:
        raise InputError(f"unknown takedown state {state!r}; use one of {', '.join(TAKEDOWN_STATES)}")
    case = get_case(session, case_id)
    allowed = TRANSITIONS[case.state]
    if state not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing (final state)"
        raise IllegalTransition(f"case {case.id} is {case.state} and can move to {options}, not {state}")
    return record_transition(session, case, state, actor=actor, at=at or datetime.now(UTC), note=note)


def on_post_removed(session: Session, post: Post) -> int:
    """Record on the post's open/requested cases that the post is gone; returns how many changed."""
    at = post.removed_at or datetime.now(UTC)
    cases = active_cases_for_post(session, post.id)
    for case in cases:
        record_transition(session, case, "removed", actor="crawler", at=at, note="post found removed by a later crawl")
    return len(cases)


def history(session: Session, case_id: int) -> list[TakedownEvent]:
    get_case(session, case_id)
    return case_history(session, case_id)
