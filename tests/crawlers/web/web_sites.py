"""A local HTTP server (127.0.0.1, port 0) serving fixture sites the tests write, with misbehaving routes.

Modelled on Scrapy's tests/mockserver: routes answer slowly, truncated, huge, with 500s or in a
redirect loop; pages with ``etag=True`` answer 304 to a matching If-None-Match. Every request is
logged (method, path, status) so tests can count what a re-crawl fetched.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = False
    delay: float = 0.0
    truncate: bool = False  # declare the full length, send half, close
    chunked_bytes: int = 0  # stream this many bytes without a Content-Length
    redirect: str | None = None


@dataclass
class Hit:
    method: str
    host: str
    path: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FixtureSite:
    """Routes by path (with query), a request log, and the base URL of the running server."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self.base = ""

    def add(self, path: str, body: str | bytes = b"", **kwargs: object) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)  # type: ignore[arg-type]

    def remove(self, path: str) -> None:
        self.routes.pop(path, None)

    def url(self, path: str) -> str:
        return self.base + path

    def fetched(self, *, status: int | None = 200) -> list[str]:
        """Paths answered with ``status`` (robots.txt excluded)."""
        with self._lock:
            return [h.path for h in self.log if h.path != "/robots.txt" and (status is None or h.status == status)]

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self.log.append(hit)


def _handler(site: FixtureSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            host = parts.hostname or (self.headers.get("Host") or "").split(":")[0]
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            route = site.routes.get(path)
            if route is None:
                self._plain(404, b"not found", host, path)
                return
            if route.delay:
                time.sleep(route.delay)
            if route.redirect is not None:
                status = route.status if 300 <= route.status < 400 else 302
                site._record(Hit("GET", host, path, headers=dict(self.headers.items()), status=status))
                self.send_response(status)
                self.send_header("Location", route.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.chunked_bytes:
                site._record(Hit("GET", host, path, headers=dict(self.headers.items()), status=route.status))
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"x" * 65536
                sent = 0
                try:
                    while sent < route.chunked_bytes:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except OSError:
                    pass
                self.close_connection = True
                return
            tag = '"' + hashlib.sha1(route.body).hexdigest() + '"'  # noqa: S324 - an ETag, not security
            if route.etag and self.headers.get("If-None-Match") == tag:
                site._record(Hit("GET", host, path, headers=dict(self.headers.items()), status=304))
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
            site._record(Hit("GET", host, path, headers=dict(self.headers.items()), status=route.status))
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            if route.etag:
                self.send_header("ETag", tag)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.truncate:
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.end_headers()
            self.wfile.write(route.body)

        def _plain(self, status: int, body: bytes, host: str, path: str) -> None:
            site._record(Hit("GET", host, path, headers=dict(self.headers.items()), status=status))
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(site: FixtureSite) -> Iterator[FixtureSite]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
