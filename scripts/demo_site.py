"""The demo's fixture web: a Korean-style trade forum and t.me/s preview pages on 127.0.0.1.

Routes are built in memory by :mod:`demo_world` (``site_routes``); this module only serves them
(``ThreadingHTTPServer`` on port 0, loopback only) with exact paths including the query string,
answering 404 for anything else. Run it alone to browse a world: ``python scripts/demo_site.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200


Routes = dict[str, Page]


def _handler(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet: the demo prints its own story
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            key = parts.path + (f"?{parts.query}" if parts.query else "")
            page = routes.get(key) or Page(b"not found", "text/plain", 404)
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

    return Handler


@contextmanager
def serve(routes: Routes) -> Iterator[str]:
    """Serve ``routes`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(routes))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    import sys
    import tempfile
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from demo_world import make_people, site_routes

    with tempfile.TemporaryDirectory() as tmp:
        routes, _ = site_routes(make_people(300), Path(tmp))
        with serve(routes) as base:
            print(f"serving the demo forum at {base}/forum/ and a channel preview at {base}/s/leak_market_kr")
            while True:
                time.sleep(3600)
