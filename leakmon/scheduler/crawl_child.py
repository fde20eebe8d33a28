"""The crawl child: ``python -m leakmon.scheduler.crawl_child`` runs ONE source's crawl and exits.

Twisted's reactor cannot restart, so every crawl gets a fresh process. The parent sends the
request as JSON on stdin (settings included, so the child sees exactly the parent's
configuration and no secret appears in argv); the child answers with JSON lines on stdout
(``ready``, ``progress``, then ``done`` or ``error``). It exits at once when its parent dies, so a
killed scheduler leaves no orphan crawl writing to the database.

SIGINT before the crawl has started (the scheduler stopping while this child still imports and
connects) ends the child like a stop mid-fetch: a ``done`` summary with ``finish_reason
"shutdown"``, exit code 0, no traceback. The parent sends SIGINT only after ``ready``, which is
emitted once that handler is installed; Scrapy installs its own graceful handler when it starts.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

PARENT_POLL_SECONDS = 0.5


class StoppedBeforeStart(BaseException):
    """SIGINT arrived before the crawl started (raised by the handler :func:`main` installs)."""


def _stop_before_start(signum: int, frame: FrameType | None) -> None:
    raise StoppedBeforeStart


def stopped_summary(source: str, run_id: int) -> dict[str, Any]:
    """What a crawl stopped before its first request reports (nothing fetched, nothing failed)."""
    return {"source": source, "run_id": run_id, "status": "ok", "finish_reason": "shutdown", "errors": 0}


def emit(kind: str, payload: Any) -> None:
    sys.stdout.write(json.dumps({"event": kind, "payload": payload}, default=str) + "\n")
    sys.stdout.flush()


def watch_parent(parent: int) -> None:
    """Exit immediately (like SIGKILL: the open transaction is lost) once ``parent`` is gone."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    signal.signal(signal.SIGINT, _stop_before_start)
    request: dict[str, Any] = {}
    try:
        emit("ready", {})
        request = json.loads(sys.stdin.read())
        return _crawl(request)
    except StoppedBeforeStart:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping already: a second SIGINT changes nothing
        emit("done", stopped_summary(str(request.get("source", "")), int(request.get("run_id") or 0)))
        return 0


def _crawl(request: dict[str, Any]) -> int:
    watch_parent(int(request["parent_pid"]))

    from crawlers.redact import error_reason
    from crawlers.web.config import parse_source
    from crawlers.web.runner import CrawlJob, crawl_here
    from leakmon.app import App
    from leakmon.logs import configure_logging
    from leakmon.runtime import build_sink
    from leakmon.settings import Settings

    configure_logging(request.get("log_format", "text"), level=logging.WARNING)
    settings = Settings.model_validate(request["settings"])
    name: str = request["source"]
    app = App(settings=settings)
    try:
        config = parse_source(name, settings.sources[name])
        sink = build_sink(app, run_id=request["run_id"])
        job = CrawlJob(
            source=name,
            config=config,
            database_url=settings.resolved_database_url,
            run_id=request["run_id"],
            redis_url=settings.redis_url,
            extra_settings={"LOG_ENABLED": False, **request.get("scrapy_settings", {})},
            spool_dir=str(settings.home / "spool"),
        )
        summary = crawl_here(job, sink, progress=lambda s: emit("progress", s.to_dict()))
        emit("done", summary.to_dict())
        return 0
    except Exception as exc:
        emit("error", error_reason(exc))
        return 1
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
