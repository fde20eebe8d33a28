"""The `leakmon` command line: a thin Typer layer over library functions.

Each module in ``leakmon/commands`` exposes ``register(app)``; expected failures become one
sentence on stderr and a documented exit code (see :mod:`leakmon.errors`), here and nowhere else.

Start-up loads only the command module that was asked for (:data:`COMMANDS` names which module
registers each command): `leakmon scan` never imports the console, the crawler or Telegram.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from leakmon.errors import LeakmonError
from matchers.errors import KernelMissing

EXIT_CODES = (
    "Exit codes: 0 done; 1 the work reports a failure (a hit with --fail-on-hit, a file scan did not read "
    "to its end, a failed crawl or run, "
    "an undelivered alert, a broken audit chain); 2 bad usage, configuration or input; 3 key file problem; "
    "4 not found; 5 another scheduler holds the job store, or a Telegram account problem; "
    "6 Telegram unreachable; 7 database unreachable; 8 disk full, read-only or no permission."
)

#: Each top-level command and the ``leakmon/commands`` module whose ``register`` adds it, in the
#: order Typer lists them when every module registers in name order (single commands first, then
#: groups). tests/leakmon/test_imports.py checks it against that eager registration.
COMMANDS: dict[str, str] = {
    "crawl": "crawl",
    "demo": "demo",
    "findings": "findings",
    "init": "init",
    "purge": "purge",
    "scan": "scan",
    "run": "schedule",
    "schedule": "schedule",
    "status": "schedule",
    "web": "web",
    "audit": "audit",
    "sources": "crawl",
    "export": "export",
    "hits": "hits",
    "incidents": "incidents",
    "keys": "keys",
    "protect": "protect",
    "takedown": "takedown",
    "telegram": "telegram",
    "users": "users",
}


#: Each command's help summary (the first paragraph of its help, what the root's help lists), so
#: `leakmon --help` imports no command module. tests/leakmon/test_imports.py checks them against
#: the modules' own help and the rendered root help against the one eager registration gives.
SUMMARIES: dict[str, str] = {
    "crawl": "Crawl web sources now, one child process each, and print each run's summary.",
    "demo": "Build a synthetic world on 127.0.0.1 and run one scheduled cycle over it (nobody real).",
    "findings": "List findings (skips, caps, errors) recorded by runs, newest first.",
    "init": (
        "Create the workspace (folder 0700, files 0600), bring the schema up to date, create a key file if none exists."
    ),
    "purge": "Remove evidence, hits and posts older than the retention policy; counts go to the audit log.",
    "scan": "Scan files and directories; print every protected subject found (masked, never the value).",
    "run": "Run the scheduled job. With --once: every due source once, then exit (non-zero if a run failed).",
    "schedule": "Run sources on their schedules until SIGINT/SIGTERM, then finish the post in flight and exit.",
    "status": (
        "A summary (failed runs, undelivered alerts, overdue incidents), then per source: last run, result,\n"
        "posts and hits found, errors, the last error's reason, next run, and any deferral."
    ),
    "web": "Serve the console: incidents, hits and triage, takedown cases, exports, sources (Korean/English).",
    "audit": "The append-only, hash-chained audit log of exports and evidence views.",
    "sources": "Web sources declared in the configuration.",
    "export": "Exports: affected subjects for notification, incidents for sharing.",
    "hits": "Hits: list with filters, show the evidence trail, label in triage.",
    "incidents": "Incidents: one leak across venues, with its 72-hour clock.",
    "keys": "Key ids in use and key rotation (keys never enter the database).",
    "protect": "Manage the protected identifier set (stored as keyed digests only).",
    "takedown": "Takedown cases: open -> requested -> removed | refused | expired.",
    "telegram": "Read Telegram chats with a user account; import Telegram Desktop exports.",
    "users": "Web console accounts: roles viewer < analyst < responder < admin.",
}


@dataclass(frozen=True)
class ListedCommand:
    """What the root's help panel reads of a command it lists (typer.rich_utils): its module stays unloaded."""

    name: str
    help: str
    short_help: None = None
    hidden: bool = False
    deprecated: bool = False
    rich_help_panel: None = None


class LazyGroup(TyperGroup):
    """The root group: a command's module is imported when the command is resolved.

    ``commands`` (what code walking the tree reads) loads every module; parsing a command line
    goes through :meth:`get_command`, which loads only the module of the named command; the root's
    help loads none.
    """

    _loaded: dict[str, Any]
    _listing: bool = False

    @property
    def commands(self) -> MutableMapping[str, Any]:
        for name in COMMANDS:
            self.get_command(None, name)
        self._loaded = {**{name: self._loaded[name] for name in COMMANDS}, **self._loaded}  # in listing order
        return self._loaded

    @commands.setter
    def commands(self, value: MutableMapping[str, Any]) -> None:
        self._loaded = dict(value)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help: commands not loaded yet are listed by their :data:`SUMMARIES`."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing and cmd_name not in self._loaded and cmd_name in SUMMARIES:
            return ListedCommand(cmd_name, SUMMARIES[cmd_name])
        module = COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self._loaded:
            self._loaded.update(load_commands(module))
        return self._loaded.get(cmd_name)


def load_commands(module: str) -> dict[str, Any]:
    """The click commands that ``leakmon.commands.<module>`` registers, by name, with labelled help."""
    holder = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    importlib.import_module(f"leakmon.commands.{module}").register(holder)
    commands = dict(typer.main.get_group(holder).commands)
    for command in commands.values():
        _label_options(command)
    return commands


app = typer.Typer(
    name="leakmon",
    help="Leaked-data exposure monitor: crawl trade posts, match by keyed hash, flag incidents.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """Commands load on demand (a callback makes Typer build the root as a group with none registered)."""


#: Files leakmon writes hold (or point to) personal data: owner-only, whatever the caller's umask.
PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> Any:
    """Entry point used by the console script: maps expected failures to a sentence and an exit code."""
    umask = os.umask(PRIVATE_UMASK)
    # pydantic looks for plugins among every installed distribution's entry points when it builds
    # its first model (0.03 s of CPU each start-up); leakmon uses none. An explicit value is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        return command()(args=argv, standalone_mode=False, prog_name="leakmon")
    except KernelMissing as missing:  # an installation without the built extension: no silent fallback
        sys.stderr.write(f"leakmon: {missing}.\n")
        sys.exit(LeakmonError.exit_code)
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
    """The one-sentence error for a failure the operator can fix; None for a bug (a traceback).

    A library's error types are looked up only when the library is loaded (an exception of a module
    never imported cannot have been raised): a usage error or `leakmon` alone imports none of them.
    """
    from leakmon.errors import database_error, storage_error

    if isinstance(exc, LeakmonError):
        return exc
    if "pydantic" in sys.modules:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            from leakmon.settings import invalid_section

            return invalid_section(exc)
    if isinstance(exc, OSError):
        return storage_error(exc)
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import InterfaceError, OperationalError

        if isinstance(exc, OperationalError | InterfaceError):
            return database_error(exc, _database_label())
    # DB-API errors not wrapped by SQLAlchemy: bulk loads write through the raw connection.
    raw = [module.OperationalError for name in ("sqlite3", "psycopg") if (module := sys.modules.get(name))]
    if raw and isinstance(exc, Exception) and isinstance(exc, tuple(raw)):
        return database_error(exc, _database_label())
    return None


def _database_label() -> str | None:
    from leakmon.app import App
    from leakmon.settings import load_settings

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
    _label_options(root, recurse=False)  # the commands are labelled as they load
    return root


def _label_options(command: Any, *, recurse: bool = True) -> None:
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
    if recurse:
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
