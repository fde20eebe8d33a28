"""Jobs from configuration: ids, schedules, triggers and misfire grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from leakmon.errors import ConfigError
from leakmon.scheduler.specs import JobSpec, job_specs, make_trigger
from leakmon.settings import load_settings


@pytest.mark.parametrize(
    ("schedule", "kind", "seconds"),
    [("30s", IntervalTrigger, 30), ("30m", IntervalTrigger, 1800), ("6h", IntervalTrigger, 21600),
     ("1d", IntervalTrigger, 86400), ("*/15 * * * *", CronTrigger, None), ("0 9 * * 1-5", CronTrigger, None)],
)  # fmt: skip
def test_schedules_become_triggers(schedule: str, kind: type, seconds: int | None) -> None:
    trigger = make_trigger(schedule)
    assert isinstance(trigger, kind)
    if seconds is not None:
        assert isinstance(trigger, IntervalTrigger)
        assert trigger.interval == timedelta(seconds=seconds)


@pytest.mark.parametrize("schedule", ["0m", "soon", "* * *", "61 * * * *"])
def test_bad_schedules_are_one_sentence(schedule: str) -> None:
    with pytest.raises(ConfigError, match="schedule"):
        make_trigger(schedule)


@pytest.mark.parametrize(
    ("schedule", "grace"),
    [("1m", 300), ("30m", 900), ("1h", 1800), ("6h", 3600), ("1d", 3600), ("0 * * * *", 900)],
)
def test_misfire_grace_stays_between_five_minutes_and_an_hour(schedule: str, grace: int) -> None:
    assert JobSpec("web", "x", schedule).misfire_grace_time == grace


def test_one_job_per_enabled_source_and_chat_with_fixed_ids() -> None:
    settings = load_settings(
        sources={
            "b_forum": {"kind": "forum", "start_urls": ["http://127.0.0.1/"], "schedule": "2h"},
            "a_paste": {"kind": "paste", "start_urls": ["http://127.0.0.1/p"]},
            "off": {"kind": "site", "start_urls": ["http://127.0.0.1/x"], "enabled": False},
        },
        telegram={"chats": {"sellers": {"ref": "@sellers"}, "old": {"ref": "@old", "enabled": False}}},
    )
    specs = job_specs(settings)
    assert [(s.id, s.schedule, s.run_source) for s in specs] == [
        ("web:a_paste", "1h", "a_paste"),
        ("web:b_forum", "2h", "b_forum"),
        ("telegram:sellers", "15m", "telegram:sellers"),
    ]


def test_an_invalid_source_fails_at_start_naming_it() -> None:
    settings = load_settings(sources={"broken": {"kind": "forum", "start_urls": ["ftp://x"]}})
    with pytest.raises(ConfigError, match="broken"):
        job_specs(settings)


def test_cron_is_utc() -> None:
    trigger = make_trigger("0 9 * * *")
    fire = trigger.get_next_fire_time(None, datetime(2026, 1, 1, 10, tzinfo=UTC))
    assert fire == datetime(2026, 1, 2, 9, tzinfo=UTC)
