"""The pictures page: hits and new subjects per day (per source, per identifier type) and incidents by
state, drawn on the server as SVG (no script, nothing fetched from elsewhere). Aggregate counts only,
so a viewer may see it.

The counts are grouped in the database; "new subjects" reads every subject's first sighting per
source and type, kept as hits are stored (``subject_first_seen``, not a scan of every hit). One
computation at a time runs and its counts are kept for :data:`KEEP_SECONDS` per database and
window; the page says when they were counted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leakmon.errors import InputError
from leakmon.web.app import Console, console_of, language, render, signed_in
from leakmon.web.chart import bar_list_chart, series_by_day, stacked_chart
from leakmon.web.i18n import translate
from storage.models.cases import EXCLUDING_LABELS, INCIDENT_STATUSES
from storage.repositories.charts import GroupBy, hits_per_day, incidents_by_status, new_subjects_per_day

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
#: Each picture's heading (an i18n key), in page order.
HEADINGS = {
    "hits_source": "Hits per day by source",
    "hits_id_type": "Hits per day by identifier type",
    "subjects_source": "New subjects per day by source",
    "subjects_id_type": "New subjects per day by identifier type",
    "incidents": "Incidents by state",
}
#: How long counted figures are shown before they are counted again.
KEEP_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Counts:
    """The figures behind the pictures of one window, and when they were counted."""

    start: date
    end: date
    per_day: dict[str, list[tuple[date, str, int]]]  # HEADINGS key -> (day, source or type, count)
    states: dict[str, int]
    counted_at: datetime
    taken: float  # time.monotonic() when counted


_kept: dict[tuple[str, int], Counts] = {}
_counting = threading.Lock()


def window_of(request: Request) -> int:
    raw = request.query_params.get("days") or str(DEFAULT_WINDOW)
    if not raw.isdigit() or int(raw) not in WINDOWS:
        raise InputError(f"days must be one of {', '.join(map(str, WINDOWS))}")
    return int(raw)


def _count(session: Session, days: int) -> Counts:
    now = datetime.now(UTC)
    end = now.date()
    start = end - timedelta(days=days - 1)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    per_day: dict[str, list[tuple[date, str, int]]] = {}
    for kind, counter in (("hits", hits_per_day), ("subjects", new_subjects_per_day)):
        by: GroupBy
        for by in ("source", "id_type"):
            per_day[f"{kind}_{by}"] = counter(session, since=since, by=by, excluded=EXCLUDING_LABELS)
    return Counts(start, end, per_day, incidents_by_status(session), now, time.monotonic())


def counts(console: Console, days: int) -> Counts:
    """The window's counts: kept ones while fresh, else counted now (one counting at a time)."""
    key = (console.app.database_label, days)
    with _counting:
        kept = _kept.get(key)
        if kept is not None and time.monotonic() - kept.taken < KEEP_SECONDS:
            return kept
        with console.app.sessions() as session:
            fresh = _count(session, days)
        _kept[key] = fresh
        return fresh


def pictures(found: Counts, lang: str) -> dict[str, Markup | None]:
    """The SVG of every heading, labels in ``lang``."""

    def t(text: str) -> str:
        return translate(lang, text)

    drawn: dict[str, Markup | None] = {}
    for key, rows in found.per_day.items():
        day_list, series = series_by_day(rows, found.start, found.end)
        names = {name: t(name) for name in series} if key.endswith("id_type") else {"other": t("other")}
        drawn[key] = stacked_chart(day_list, series, title=t(HEADINGS[key]), names=names)
    items = [(t(status), found.states.get(status, 0)) for status in INCIDENT_STATUSES]
    drawn["incidents"] = bar_list_chart(items, title=t(HEADINGS["incidents"]))
    return drawn


async def charts(request: Request) -> Response:
    """Hits and new subjects over the last N days per source and per identifier type; incidents by state."""
    await signed_in(request, "viewer")
    days = window_of(request)
    found = await run_in_threadpool(counts, console_of(request), days)
    context: dict[str, Any] = {"pictures": pictures(found, language(request)), "headings": HEADINGS}
    return render(request, "charts.html", days=days, windows=WINDOWS, counted_at=found.counted_at, **context)


ROUTES: list[BaseRoute] = [
    Route("/charts", charts),
]
