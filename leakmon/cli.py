"""The `leakmon` command line: a thin Typer layer over library functions.

Each module in ``leakmon/commands`` exposes ``register(app)``; expected failures become one
sentence on stderr and a documented exit code (see :mod:`leakmon.errors`), here and nowhere else.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import Any

import typer
from pydantic import ValidationError

import leakmon.commands
from leakmon.errors import LeakmonError, database_error, storage_error
from leakmon.settings import invalid_section, load_settings
from matchers.errors import KernelMissing

EXIT_CODES = (
    "Exit codes: 0 done; 1 the work reports a failure (a hit with --fail-on-hit, a failed crawl or run, "
    "an undelivered alert, a broken audit chain); 2 bad usage, configuration or input; 3 key file problem; "
    "4 not found; 5 another scheduler holds the job store, or a Telegram account problem; "
    "6 Telegram unreachable; 7 database unreachable; 8 disk full, read-only or no permission."
)

app = typer.Typer(
    name="leakmon",
    help="Leaked-data exposure monitor: crawl trade posts, match by keyed hash, flag incidents.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

try:
    for _module in sorted(pkgutil.iter_modules(leakmon.commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"leakmon.commands.{_module.name}").register(app)
except KernelMissing as _missing:  # an installation without the built extension: no silent fallback
    sys.stderr.write(f"leakmon: {_missing}.\n")
    sys.exit(LeakmonError.exit_code)

#: Files leakmon writes hold (or point to) personal data: owner-only, whatever the caller's umask.
PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> Any:
    """Entry point used by the console script: maps expected failures to a sentence and an exit code."""
    umask = os.umask(PRIVATE_UMASK)
    try:
        return command()(args=argv, standalone_mode=False, prog_name="leakmon")
    except Exception as exc:
        error = expected_error(exc)
        if error is not None:
            typer.echo(f"leakmon: {error}", err=True)
            sys.exit(error.exit_code)
        exit_code = getattr(exc, "exit_code", None)  # typer/click usage errors carry their own
        if exit_code is None:
            raise
        usage = usage_sentence(exc)
        if usage is not None:
            typer.echo(f"leakmon: {usage}", err=True)
        elif callable(show := getattr(exc, "show", None)):
            show()  # `leakmon` alone: the help
        sys.exit(exit_code)
    finally:
        os.umask(umask)


def expected_error(exc: BaseException) -> LeakmonError | None:
    """The one-sentence error for a failure the operator can fix; None for a bug (a traceback)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, LeakmonError):
        return exc
    if isinstance(exc, ValidationError):
        return invalid_section(exc)
    if isinstance(exc, OSError):
        return storage_error(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        return database_error(exc, _database_label())
    return None


def _database_label() -> str | None:
    from leakmon.app import App

    try:
        return App(settings=load_settings()).database_label
    except LeakmonError:
        return None


def usage_sentence(exc: BaseException) -> str | None:
    """A usage error (unknown option, value out of range or not a choice) as one line with a pointer."""
    message = getattr(exc, "format_message", None)
    context = getattr(exc, "ctx", None)
    if not callable(message) or type(exc).__name__ == "NoArgsIsHelpError":
        return None
    text = " ".join(str(message()).replace("Value error, ", "").split())
    text = text[:1].lower() + text[1:]
    where = f" (see `{context.command_path} --help`)" if context is not None else ""
    return f"{text.rstrip('.')}{where}"


def command() -> Any:
    """The click command tree, with help that names values instead of Python types."""
    root = typer.main.get_command(app)
    _label_options(root)
    return root


def _label_options(command: Any) -> None:
    """Help shows ``TEXT``/``INTEGER``/``PATH`` or the choices after a parameter, nothing after a flag.

    Typer's own labels are Python type names (``<str>``, ``<bool>``), even for ``--help``.
    """
    context = typer.Context(command)
    params = list(command.params)
    help_option = command.get_help_option(context)
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if param.metavar is not None:
            continue
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
            continue
        label = param.display_type(context).strip("<>").removesuffix(" range")
        label = _LABELS.get(label.lower(), label.upper().replace("|", " | "))
        if param.param_type_name == "option":
            param.metavar = label
        else:  # an argument's metavar is its name; its type column has no metavar of its own
            param.metavar = param.name.upper()
            param.display_type_rich = lambda ctx, label=label: label
    for sub in getattr(command, "commands", {}).values():
        _label_options(sub)


_LABELS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "path": "PATH",
    "list[str]": "TEXT",
    "list[path]": "PATH",
}
