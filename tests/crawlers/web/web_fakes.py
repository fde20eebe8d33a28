"""A PostSink that records what it is given in a JSONL file (it runs in the crawl child process)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawlers.interface import CheckpointUpdate, IngestResult
from crawlers.model import CrawledPost, Finding

#: Each occurrence of this token in a post or its files counts as one "hit" for the fake.
HIT_TOKEN = "LEAKTOKEN"


class RecordingSink:
    """Implements PostSink: content-hash dedup like the real sink, events appended to ``path``."""

    def __init__(self, path: Path, fail_marker: str | None = None) -> None:
        self.path = path
        self.fail_marker = fail_marker
        self.hashes: dict[str, str] = {}
        for event in read_events(path):
            if event["op"] == "ingest":
                self.hashes[event["external_id"]] = event["hash"]

    def _write(self, event: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")

    def ingest(
        self,
        post: CrawledPost,
        *,
        checkpoint: CheckpointUpdate | None = None,
        passwords: tuple[str, ...] = (),
        findings: tuple[Finding, ...] = (),
    ) -> IngestResult:
        if self.fail_marker and self.fail_marker in post.text:
            raise RuntimeError(f"insert failed: {post.text!r}")  # like a DB error quoting the row
        digest = post.content_hash()
        previous = self.hashes.get(post.external_id)
        status = "new" if previous is None else ("unchanged" if previous == digest else "changed")
        self.hashes[post.external_id] = digest
        blobs = [post.text] + [a.open_bytes().decode("latin-1") for a in post.attachments if a.data or a.path]
        hits = sum(blob.count(HIT_TOKEN) for blob in blobs)
        self._write(
            {
                "op": "ingest",
                "status": status,
                "external_id": post.external_id,
                "venue": post.venue,
                "hash": digest,
                "text": post.text,
                "title": post.title,
                "author": post.author,
                "url": post.url,
                "posted_at": post.posted_at.isoformat() if post.posted_at else None,
                "attachments": [
                    {
                        "name": a.name,
                        "size": len(a.open_bytes()) if (a.data or a.path) else None,
                        "declared_size": a.declared_size,
                        "on_disk": a.path is not None,
                        "skipped": a.skipped_reason,
                        "sha256": a.sha256(),
                    }
                    for a in post.attachments
                ],
                "passwords": list(passwords),
                "findings": [f.kind for f in findings],
                "checkpoint": [checkpoint.key, checkpoint.value] if checkpoint else None,
                "extra": dict(post.extra),
            }
        )
        return IngestResult(post_id=None, status=status, hits=hits, new_hits=hits if status != "unchanged" else 0)

    def record_removed(self, source: str, external_id: str) -> bool:
        self._write({"op": "removed", "external_id": external_id})
        return True

    def record_findings(self, source: str, findings: tuple[Finding, ...]) -> None:
        for finding in findings:
            self._write({"op": "finding", "kind": finding.kind, "locator": finding.locator})


@dataclass(frozen=True)
class RecordingSinkFactory:
    """Picklable sink factory handed to the crawl child."""

    path: Path
    fail_marker: str | None = None

    def __call__(self, job: Any) -> RecordingSink:
        return RecordingSink(self.path, self.fail_marker)


def read_events(path: Path, op: str | None = None) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [e for e in events if op is None or e["op"] == op]


def _loopback_resolver() -> Any:
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer
    from twisted.internet.error import DNSLookupError

    class LoopbackResolver(CachingThreadedResolver):
        """Resolves loopback names only: the crawl child can never reach the internet."""

        def getHostByName(self, name: str, timeout: Any = ()) -> Any:
            if name in ("127.0.0.1", "localhost", "::1"):
                return super().getHostByName(name, timeout)
            return defer.fail(DNSLookupError(name))

    return LoopbackResolver


LoopbackResolver = _loopback_resolver()

#: Settings every test crawl uses: loopback-only DNS, quiet logs.
TEST_SETTINGS: dict[str, Any] = {"TWISTED_DNS_RESOLVER": f"{__name__}.LoopbackResolver"}


@dataclass(frozen=True)
class EgressGuardSinkFactory:
    """A RecordingSinkFactory that first installs, in the crawl child, an audit hook on the network.

    Every name lookup and every socket connect the child makes is appended to ``log`` as a JSON
    line; an internet connect to anything but ``allowed`` (host, port) is refused (PermissionError).
    tldextract's cache is pointed at the empty ``suffix_cache`` folder, as on a fresh machine.
    """

    path: Path
    log: Path
    allowed: tuple[str, int]
    suffix_cache: Path

    def __call__(self, job: Any) -> RecordingSink:
        import os
        import sys

        os.environ["TLDEXTRACT_CACHE"] = str(self.suffix_cache)

        log, allowed = self.log, self.allowed

        def hook(event: str, args: tuple[Any, ...]) -> None:
            if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
                entry: dict[str, Any] = {"event": "lookup", "host": str(args[0])}
            elif event == "socket.connect" and isinstance(args[1], tuple):
                entry = {"event": "connect", "host": str(args[1][0]), "port": int(args[1][1])}
            else:
                return
            with log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
            if entry["event"] == "connect" and (entry["host"], entry["port"]) != allowed:
                raise PermissionError(f"egress guard: connect to {entry['host']}:{entry['port']} refused")

        sys.addaudithook(hook)
        return RecordingSink(self.path)


@dataclass(frozen=True)
class KilledMidReadSinkFactory:
    """A sink that reads half of the first on-disk attachment, then SIGKILLs its own (crawl) process."""

    path: Path

    def __call__(self, job: Any) -> RecordingSink:
        return _KilledMidReadSink(self.path)


class _KilledMidReadSink(RecordingSink):
    def ingest(self, post: CrawledPost, **kwargs: Any) -> IngestResult:
        import os
        import signal

        for attachment in post.attachments:
            if attachment.path is not None:
                with attachment.path.open("rb") as handle:
                    handle.read(attachment.path.stat().st_size // 2)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().ingest(post, **kwargs)
