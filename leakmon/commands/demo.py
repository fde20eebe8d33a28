"""`leakmon demo`: the `make demo` cycle from the command line.

The demo world generator and its loopback web server live in ``scripts/`` (the layout of
ARCHITECTURE.md), so this command runs ``scripts/demo.py`` of the source checkout it belongs to,
with this interpreter; an installation without the checkout says so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from leakmon.errors import InputError

DEMO_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def demo(
    subjects: Annotated[
        int | None, typer.Option("--subjects", min=10, help="Size of the synthetic protected set (default 3000).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where the world and workspace go (default ./demo-out; replaced).")
    ] = None,
) -> None:
    """Build a synthetic world on 127.0.0.1 and run one scheduled cycle over it (nobody real)."""
    if not DEMO_SCRIPT.is_file():
        raise InputError(f"the demo needs a leakmon source checkout: {DEMO_SCRIPT} is not there")
    argv = [sys.executable, str(DEMO_SCRIPT)]
    if subjects is not None:
        argv += ["--subjects", str(subjects)]
    if out is not None:
        argv += ["--out", str(out)]
    code = subprocess.call(argv)  # noqa: S603 - our own script, with this interpreter
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
