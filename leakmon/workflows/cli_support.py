"""Small helpers the case commands share: parsing --since, rendering time left, opening the app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from leakmon.app import App
from leakmon.errors import InputError

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w``, or an ISO date/time (UTC when no zone is given)."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        try:
            return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:
            raise InputError(f"--since {text!r} reaches back before year 1") from None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since {text!r} is neither a duration like 7d/24h nor an ISO date") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def describe_left(left: timedelta | None) -> str:
    """``31h 05m left``, ``OVERDUE by 4h 10m``, or ``-`` with no clock running."""
    if left is None:
        return "-"
    minutes = int(abs(left).total_seconds() // 60)
    text = f"{minutes // 60}h {minutes % 60:02d}m"
    return f"{text} left" if left >= timedelta(0) else f"OVERDUE by {text}"


def open_app() -> App:
    """The application with an initialised database (a clear sentence otherwise)."""
    app = App()
    app.require_schema()
    return app
