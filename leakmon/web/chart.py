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


#: Series colours (colour-blind-safe Okabe-Ito order); the last one is kept for "other".
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999")
OTHER = "other"


def series_by_day(
    rows: Iterable[tuple[date, str, int]], start: date, end: date, *, top: int = len(PALETTE) - 1
) -> tuple[list[date], dict[str, list[int]]]:
    """Every day from ``start`` to ``end`` and one count list per key (the ``top`` biggest keys by
    total, the rest summed as :data:`OTHER`); days without rows count zero."""
    days = [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]
    index = {day: i for i, day in enumerate(days)}
    totals: Counter[str] = Counter()
    per_key: dict[str, list[int]] = {}
    for day, key, count in rows:
        if day not in index:
            continue
        per_key.setdefault(key, [0] * len(days))[index[day]] += count
        totals[key] += count
    kept = [key for key, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    series = {key: per_key[key] for key in sorted(kept)}
    rest = [key for key in per_key if key not in series]
    if rest:
        series[OTHER] = [sum(per_key[key][i] for key in rest) for i in range(len(days))]
    return days, series


def stacked_chart(
    days: list[date], series: Mapping[str, list[int]], *, title: str, names: Mapping[str, str] | None = None
) -> Markup | None:
    """Stacked bars per day, one colour per series, with a legend; None when every count is zero.

    ``names`` gives the shown (translated) name of a series key; text is escaped.
    """
    totals = [sum(counts[i] for counts in series.values()) for i in range(len(days))]
    if not days or not any(totals):
        return None
    names = names or {}
    legend_height = 18 * ((len(series) + 3) // 4)
    height = HEIGHT + legend_height
    top = max(totals)
    slot = (WIDTH - 2 * PAD) / len(days)
    parts: list[str] = []
    for index, day in enumerate(days):
        x = PAD + index * slot
        base = float(HEIGHT - PAD)
        for colour, (key, counts) in zip(PALETTE, series.items(), strict=False):
            if not counts[index]:
                continue
            bar = (HEIGHT - 2 * PAD) * counts[index] / top
            base -= bar
            label = escape(f"{day.isoformat()} {names.get(key, key)}: {counts[index]}")
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{max(slot - 2, 1):.1f}" height="{bar:.1f}"'
                f' fill="{_colour(key, colour)}"><title>{label}</title></rect>'
            )
    for number, (key, colour) in enumerate(zip(series, PALETTE, strict=False)):
        lx, ly = PAD + (number % 4) * ((WIDTH - 2 * PAD) / 4), HEIGHT + 4 + 18 * (number // 4)
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" fill="{_colour(key, colour)}"/>'
            f'<text x="{lx + 14:.1f}" y="{ly + 9}" font-size="11">{escape(names.get(key, key))}'
            f" ({sum(series[key])})</text>"
        )
    axis = (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>'
        f'<text x="{PAD}" y="{HEIGHT - 10}" font-size="11">{days[0].isoformat()}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 10}" font-size="11" text-anchor="end">{days[-1].isoformat()}</text>'
        f'<text x="{PAD - 4}" y="{PAD}" font-size="11" text-anchor="end">{top}</text>'
    )
    return _svg(WIDTH, height, title, axis + "".join(parts))


def bar_list_chart(items: list[tuple[str, int]], *, title: str) -> Markup | None:
    """Horizontal bars, one per (shown label, count); None when every count is zero."""
    if not items or not any(count for _, count in items):
        return None
    top = max(count for _, count in items)
    label_width, row = 140, 24
    height = row * len(items) + 8
    parts: list[str] = []
    for index, ((label, count), colour) in enumerate(zip(items, PALETTE, strict=False)):
        y = 4 + index * row
        width = (WIDTH - label_width - 60) * count / top if top else 0
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="16" fill="{colour}">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text x="{label_width + width + 6:.1f}" y="{y + 15}" font-size="12">{count}</text>'
        )
    return _svg(WIDTH, height, title, "".join(parts))


def _colour(key: str, colour: str) -> str:
    return PALETTE[-1] if key == OTHER else colour


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    # Every interpolated value is a number, an ISO date, a palette colour or escaped text.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )
