"""The pictures page: hits and new subjects over time, incidents by state (SVG drawn on the server)."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
