"""Structured logs: structlog for our events, ``ProcessorFormatter`` for stdlib loggers (Scrapy,
Telethon, APScheduler), JSON or text, and a redaction processor that masks identifier-shaped values.

Redaction is a safety net, not the policy: code never logs a protected value on purpose. Every
string of every event field (nested dicts and lists included, tracebacks too) goes through the one
redaction rule stored and printed strings follow (:mod:`crawlers.redact`): e-mail addresses,
resident/foreigner, phone and card numbers in any written form (Hangul digit words, full-width or
circled digits, spelled-out e-mails) become ``[redacted]``; IP:port, timestamps and sizes stay.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

from crawlers.redact import redact

LogFormat = Literal["json", "text"]


def redact_text(text: str) -> str:
    """``text`` under the one redaction rule (:func:`crawlers.redact.redact`): identifier-shaped spans,
    judged after de-obfuscation, become ``[redacted]``; addresses with ports, timestamps, positions
    and sizes stay."""
    return redact(text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(item) for item in value)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redact_identifiers(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask identifier-shaped values in every field."""
    for key in list(event):
        if key.startswith("_"):
            continue  # structlog/stdlib internals (the LogRecord itself)
        event[key] = _redact(event[key])
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.format_exc_info,
        redact_identifiers,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(fmt: LogFormat = "text", *, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging through one handler on ``stream`` (stderr by default)."""
    if fmt not in ("json", "text"):
        raise ValueError(f"unknown log format {fmt!r} (json, text)")
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = _shared_processors()
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler.setFormatter(formatter)
    handler.setLevel(level)  # Scrapy resets the root logger to NOTSET in crawl children
    handler.set_name("leakmon")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "leakmon"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("scrapy", "twisted", "telethon", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (test runners and the demo swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def get_logger(name: str) -> Any:
    """A structlog logger bound to ``name`` (use keyword fields, never identifier values)."""
    return structlog.stdlib.get_logger(name)
