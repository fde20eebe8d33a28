"""Server-rendered SVG bar chart of hits per day (no script, no library fetched at run time)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 180, 28


def daily_counts(rows: Iterable[Mapping[str, Any]]) -> list[tuple[date, int]]:
    """Hits per day of first sighting, oldest first (rows streamed, one counter per day kept)."""
    counts = Counter(row["first_seen"].date() for row in rows)
    return sorted(counts.items())


def hits_chart(days: list[tuple[date, int]], title: str = "hits per day") -> Markup | None:
    """An accessible SVG bar chart of ``days``; None when there is nothing to draw."""
    if not days:
        return None
    top = max(count for _, count in days)
    slot = (WIDTH - 2 * PAD) / len(days)
    bars = []
    for index, (day, count) in enumerate(days):
        height = (HEIGHT - 2 * PAD) * count / top
        x = PAD + index * slot
        y = HEIGHT - PAD - height
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 4, 1):.1f}" height="{height:.1f}" fill="#3b6ea5">'
            f"<title>{day.isoformat()}: {count}</title></rect>"
            f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{count}</text>'
        )
    first, last = days[0][0].isoformat(), days[-1][0].isoformat()
    axis = (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{first}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{last}</text>'
    )
    # Every interpolated value is a number, an ISO date or escaped: safe to mark as markup.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-label="{escape(title)}">{axis}{"".join(bars)}</svg>'
    )
