"""The pictures page: hits and new subjects per day (per source, per identifier type) and incidents by
state, drawn on the server as SVG (no script, nothing fetched from elsewhere). Aggregate counts only,
so a viewer may see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leakmon.errors import InputError
from leakmon.web.app import console_of, language, render, signed_in
from leakmon.web.chart import bar_list_chart, series_by_day, stacked_chart
from leakmon.web.i18n import translate
from storage.models.cases import EXCLUDING_LABELS, INCIDENT_STATUSES
from storage.repositories.charts import GroupBy, hits_per_day, incidents_by_status, new_subjects_per_day

WINDOWS = (7, 30, 90)
#: Each picture's heading (an i18n key), in page order.
HEADINGS = {
    "hits_source": "Hits per day by source",
    "hits_id_type": "Hits per day by identifier type",
    "subjects_source": "New subjects per day by source",
    "subjects_id_type": "New subjects per day by identifier type",
    "incidents": "Incidents by state",
}
DEFAULT_WINDOW = 30


def window_of(request: Request) -> int:
    raw = request.query_params.get("days") or str(DEFAULT_WINDOW)
    if not raw.isdigit() or int(raw) not in WINDOWS:
        raise InputError(f"days must be one of {', '.join(map(str, WINDOWS))}")
    return int(raw)


async def charts(request: Request) -> Response:
    """Hits and new subjects over the last N days per source and per identifier type; incidents by state."""
    await signed_in(request, "viewer")
    days = window_of(request)
    lang = language(request)

    def t(text: str) -> str:
        return translate(lang, text)

    def load(session: Session) -> dict[str, Markup | None]:
        today = datetime.now(UTC).date()
        start = today - timedelta(days=days - 1)
        since = datetime(start.year, start.month, start.day, tzinfo=UTC)
        pictures: dict[str, Markup | None] = {}
        for kind, counter in (("hits", hits_per_day), ("subjects", new_subjects_per_day)):
            by: GroupBy
            for by in ("source", "id_type"):
                rows = counter(session, since=since, by=by, excluded=EXCLUDING_LABELS)
                day_list, series = series_by_day(rows, start, today)
                names = {key: t(key) for key in series} if by == "id_type" else {"other": t("other")}
                title = t(HEADINGS[f"{kind}_{by}"])
                pictures[f"{kind}_{by}"] = stacked_chart(day_list, series, title=title, names=names)
        states = incidents_by_status(session)
        items = [(t(status), states.get(status, 0)) for status in INCIDENT_STATUSES]
        pictures["incidents"] = bar_list_chart(items, title=t("Incidents by state"))
        return pictures

    pictures: dict[str, Any] = await console_of(request).work(load)
    return render(request, "charts.html", pictures=pictures, headings=HEADINGS, days=days, windows=WINDOWS)


ROUTES: list[BaseRoute] = [
    Route("/charts", charts),
]
