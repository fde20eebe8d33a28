"""The `leakmon` command line: a thin Typer layer over library functions.

Each module in ``leakmon/commands`` exposes ``register(app)``; domain errors become one
sentence on stderr and the error's exit code, here and nowhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import typer
from pydantic import ValidationError

import leakmon.commands
from leakmon.errors import ConfigError, LeakmonError

app = typer.Typer(
    name="leakmon",
    help="Leaked-data exposure monitor: crawl trade posts, match by keyed hash, flag incidents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for _module in sorted(pkgutil.iter_modules(leakmon.commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"leakmon.commands.{_module.name}").register(app)


def main(argv: list[str] | None = None) -> Any:
    """Entry point used by the console script: maps LeakmonError to a sentence and an exit code."""
    try:
        return app(args=argv, standalone_mode=False)
    except LeakmonError as exc:
        typer.echo(f"leakmon: {exc}", err=True)
        sys.exit(exc.exit_code)
    except ValidationError as exc:  # settings that do not validate: name the fields, not a traceback
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        typer.echo(f"leakmon: configuration error: {problems}", err=True)
        sys.exit(ConfigError.exit_code)
    except Exception as exc:  # typer/click usage errors carry their own exit code
        exit_code = getattr(exc, "exit_code", None)
        if exit_code is None:
            raise
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        sys.exit(exit_code)
