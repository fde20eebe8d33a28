"""Which jobs the configuration asks for: one per enabled web source and per enabled Telegram chat.

A job's id is fixed by its source (``web:NAME``, ``telegram:NAME``), so a restart replaces it in
place and a renamed source shows up as one job removed and one added (both logged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from crawlers.telegram.config import TelegramConfig
from crawlers.web.config import SourceConfigError, parse_sources
from leakmon.errors import ConfigError
from leakmon.settings import Settings, invalid_section

JobKind = Literal["web", "telegram"]


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Everything that follows from a job's kind: its function, its runs' kind and source, its default."""

    function: str  # the ``module:function`` reference APScheduler stores
    run_kind: str  # ``runs.kind``
    run_prefix: str  # ``runs.source`` = prefix + source name
    default_schedule: str


KINDS: dict[JobKind, KindSpec] = {
    "web": KindSpec("leakmon.scheduler.jobs:crawl_web_source", "crawl", "", "1h"),
    "telegram": KindSpec("leakmon.scheduler.jobs:read_telegram_chat", "telegram", "telegram:", "15m"),
}
DEFAULT_SCHEDULE: dict[JobKind, str] = {kind: spec.default_schedule for kind, spec in KINDS.items()}
MIN_GRACE_SECONDS = 300
MAX_GRACE_SECONDS = 3600
_INTERVAL = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One scheduled job as configuration defines it."""

    kind: JobKind
    name: str
    schedule: str

    @classmethod
    def from_id(cls, job_id: str, schedule: str = "") -> JobSpec:
        """The spec behind a stored job id (``web:NAME``, ``telegram:NAME``)."""
        kind, _, name = job_id.partition(":")
        if kind not in KINDS:
            raise ValueError(f"job id {job_id!r} has no known kind")
        return cls(kind, name, schedule)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def function(self) -> str:
        return KINDS[self.kind].function

    @property
    def run_kind(self) -> str:
        return KINDS[self.kind].run_kind

    @property
    def run_source(self) -> str:
        """The ``runs.source`` value this job's runs are recorded under."""
        return KINDS[self.kind].run_prefix + self.name

    @property
    def misfire_grace_time(self) -> int:
        """Half the interval, kept within 5 minutes .. 1 hour (cron schedules: 15 minutes)."""
        seconds = interval_seconds(self.schedule)
        if seconds is None:
            return 900
        return min(MAX_GRACE_SECONDS, max(MIN_GRACE_SECONDS, seconds // 2))


def interval_seconds(schedule: str) -> int | None:
    match = _INTERVAL.match(schedule.strip())
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def make_trigger(schedule: str) -> BaseTrigger:
    """An interval like ``30m`` / ``6h`` or a 5-field cron string (UTC)."""
    seconds = interval_seconds(schedule)
    if seconds is not None:
        if seconds <= 0:
            raise ConfigError(f"schedule {schedule!r} must be longer than zero")
        return IntervalTrigger(seconds=seconds, timezone=UTC)
    try:
        return CronTrigger.from_crontab(schedule, timezone=UTC)
    except ValueError as exc:
        raise ConfigError(f"schedule {schedule!r} is neither an interval like '30m' nor a cron string: {exc}") from None


def job_specs(settings: Settings) -> list[JobSpec]:
    """Every enabled source and chat, in a stable order, with its schedule."""
    try:
        sources = parse_sources(settings.sources)
    except SourceConfigError as exc:
        raise ConfigError(str(exc)) from None
    specs = [
        JobSpec("web", name, config.schedule or DEFAULT_SCHEDULE["web"])
        for name, config in sources.items()
        if config.enabled
    ]
    if settings.telegram:
        try:
            telegram = TelegramConfig.from_settings(settings.telegram)
        except ValidationError as exc:
            raise invalid_section(exc, "telegram") from None
        specs += [
            JobSpec("telegram", name, chat.schedule or DEFAULT_SCHEDULE["telegram"])
            for name, chat in sorted(telegram.chats.items())
            if chat.enabled
        ]
    for spec in specs:
        make_trigger(spec.schedule)  # fail at start, not at the first fire
    return specs
