"""The console's sources page (last run, next run, deferral, error findings) and its pictures (SVG)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from leakmon.web.chart import OTHER, series_by_day, stacked_chart
from storage.models.cases import EXCLUDING_LABELS
from storage.repositories.charts import hits_per_day, incidents_by_status, new_subjects_per_day
from storage.repositories.runs import add_findings, finish_run, start_run
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import add_users, client, sign_in
from tests.leakmon.workflows.world import SECRET_VALUES, Db

SOURCES = {
    "forum": {"kind": "forum", "start_urls": ["http://127.0.0.1:9/"], "schedule": "30m"},
    "paste": {"kind": "forum", "start_urls": ["http://127.0.0.1:9/p"]},
}


@pytest.fixture
def seeded(cli_db: Db) -> Seeded:
    s = seed(cli_db)
    add_users(cli_db)
    return s


def test_sources_page_shows_runs_deferral_and_findings_to_analysts(
    cli_db: Db, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_SOURCES", json.dumps(SOURCES))
    until = datetime.now(UTC) + timedelta(hours=2)
    with cli_db.sessions.begin() as session:
        run_id = start_run(session, "forum", "crawl").id
        add_findings(
            session, "forum", [("http://127.0.0.1:9/t/1", "http_429", "Too Many Requests; retry after 7200 s")],
            run_id=run_id,
        )  # fmt: skip
        add_findings(session, "forum", [("http://127.0.0.1:9/t/2", "robots_denied", "robots.txt")], run_id=run_id)
        finish_run(session, run_id, status="failed", stats={"errors": 1}, retry_after=until)
        scan = start_run(session, "files:/srv/dump", "scan").id
        finish_run(session, scan, status="ok", stats={})
    with client() as http:
        sign_in(http, "viewer")
        page = http.get("/sources").text
        assert 'data-source="web:forum"' in page
        assert 'data-source="web:paste"' in page
        assert 'data-source="files:/srv/dump"' in page  # ran, but no configured job
        forum = page.split('data-source="web:forum"')[1].split("</tr>")[0]
        assert "실패" in forum  # failed
        assert "30m" in forum
        assert "아직 예약 안 됨" in forum  # no scheduler has stored its next run yet
        assert until.strftime("%Y-%m-%d %H:%M") in forum
        assert "http_429" in forum  # the one-line error from the finding
        assert "data-findings" not in page  # the findings behind it are the analyst's
        sign_in(http, "analyst")
        page = http.get("/sources").text
        findings = page.split('data-findings="web:forum"')[1].split("</details>")[0]
        assert "Too Many Requests" in findings
        assert "robots_denied" not in findings  # an expected skip, not an error


def test_chart_counts_per_day_source_and_type(cli_db: Db, seeded: Seeded) -> None:
    since = datetime.now(UTC) - timedelta(days=30)
    with cli_db.sessions() as session:

        def totals(rows: list[tuple[date, str, int]]) -> dict[str, int]:
            out: dict[str, int] = {}
            for _, key, count in rows:
                out[key] = out.get(key, 0) + count
            return out

        hits_by_source = totals(hits_per_day(session, since=since, by="source", excluded=EXCLUDING_LABELS))
        new_by_source = totals(new_subjects_per_day(session, since=since, by="source", excluded=EXCLUDING_LABELS))
        new_by_type = totals(new_subjects_per_day(session, since=since, by="id_type", excluded=EXCLUDING_LABELS))
        later = datetime.now(UTC) - timedelta(days=1)
        recent = totals(new_subjects_per_day(session, since=later, by="source", excluded=EXCLUDING_LABELS))
        states = incidents_by_status(session)
    assert hits_by_source == {"kr_db_market": 11, "dark_forum": 1, "ads_channel": 1}
    assert new_by_source == {"kr_db_market": 5, "dark_forum": 1, "ads_channel": 1}
    assert new_by_type == {"name": 5, "phone": 6, "rrn": 1}
    assert recent == {"ads_channel": 1}  # the leak's subjects were first seen five days ago
    assert states == {"open": 2}


def test_series_keep_the_biggest_and_sum_the_rest() -> None:
    start = date(2026, 1, 1)
    rows = [(start, f"s{i}", i + 1) for i in range(9)] + [(date(2026, 1, 3), "s8", 5), (date(2025, 1, 1), "s0", 99)]
    days, series = series_by_day(rows, start, date(2026, 1, 3), top=3)
    assert days == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert list(series) == ["s6", "s7", "s8", OTHER]
    assert series["s8"] == [9, 0, 5]
    assert series[OTHER] == [sum(range(1, 7)), 0, 0]  # the day outside the window is dropped
    svg = stacked_chart(days, {"<b>": [1, 0, 2]}, title="x & y", names={"<b>": "<script>"})
    assert svg is not None
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert stacked_chart(days, {"a": [0, 0, 0]}, title="empty") is None


def test_charts_page_draws_svg_in_korean_and_english(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        sign_in(http, "viewer")
        korean = http.get("/charts")
        assert korean.status_code == 200
        assert korean.text.count("<svg") == 5
        assert "수집원별 일별 탐지 건수" in korean.text
        assert "주민등록번호" in korean.text  # identifier types translated in the legend
        assert "<script" not in korean.text
        assert not re.search(r'(src|href)="(https?:)?//', korean.text)  # nothing fetched from elsewhere
        for secret in SECRET_VALUES:
            assert secret not in korean.text
        http.get("/lang/en?next=/charts")
        english = http.get("/charts?days=7").text
        assert "Hits per day by source" in english
        assert "Incidents by state" in english
        assert http.get("/charts?days=5").status_code == 400


def test_counts_are_kept_for_a_while_then_counted_again(
    cli_db: Db, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leakmon.web import pages_charts

    counted: list[int] = []
    real = pages_charts._count

    def counting(session: object, days: int) -> pages_charts.Counts:
        counted.append(days)
        return real(session, days)  # type: ignore[arg-type]

    monkeypatch.setattr(pages_charts, "_count", counting)
    with client() as http:
        sign_in(http, "viewer")
        assert http.get("/charts?days=7").status_code == 200
        assert http.get("/charts?days=7").status_code == 200
        assert counted == [7]
        monkeypatch.setattr(pages_charts, "KEEP_SECONDS", 0.0)
        page = http.get("/charts?days=7").text
    assert counted == [7, 7]
    assert 'id="counted-at"' in page
