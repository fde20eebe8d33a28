"""`leakmon users`: local accounts of the web console (add, list, disable, passwd), audited."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from leakmon.choices import Format, FormatOption
from leakmon.errors import InputError
from leakmon.output import console, write_records
from leakmon.workflows import audit
from leakmon.workflows.cli_support import open_app

users_app = typer.Typer(help="Web console accounts: roles viewer < analyst < responder < admin.")
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")]
NameArg = Annotated[str, typer.Argument(help="User name.")]


def read_password() -> str:
    """The new password: one line of standard input when it is not a terminal, else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise InputError("the two passwords differ")
    return first


@users_app.command("add")
def add(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="viewer, analyst, responder or admin.")],
    actor: ActorOption = None,
) -> None:
    """Add an account; the password is read from standard input (asked twice on a terminal)."""
    from leakmon.web import accounts  # argon2: loaded by the commands that hash

    accounts.check_role(role)
    password = read_password()
    app = open_app()
    with app.sessions.begin() as session:
        accounts.add_user(session, name, role, password)
        audit.record(session, "user_add", f"user {name}", rows=1, actor=actor, details={"role": role})
    app.close()
    console.print(f"user {name} added as {role}", markup=False)


@users_app.command("list")
def list_(fmt: FormatOption = Format.TABLE) -> None:
    """List accounts: name, role, disabled, last sign-in (never password hashes)."""
    from storage.repositories.web import list_users

    app = open_app()
    with app.sessions() as session:
        rows: list[dict[str, object]] = [
            {"name": u.name, "role": u.role, "disabled": u.disabled, "last_login_at": u.last_login_at}
            for u in list_users(session)
        ]
    app.close()
    write_records(rows, fmt=fmt, columns=["name", "role", "disabled", "last_login_at"], output=None, title="users")


@users_app.command("disable")
def disable(
    name: NameArg,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again instead.")] = False,
    actor: ActorOption = None,
) -> None:
    """Disable an account (its sessions end at once), or enable it again with --enable."""
    from leakmon.web import accounts

    app = open_app()
    with app.sessions.begin() as session:
        accounts.set_disabled(session, name, not enable)
        audit.record(session, "user_enable" if enable else "user_disable", f"user {name}", rows=1, actor=actor)
    app.close()
    console.print(f"user {name} {'enabled' if enable else 'disabled'}", markup=False)


@users_app.command("passwd")
def passwd(name: NameArg, actor: ActorOption = None) -> None:
    """Set a new password (from standard input when it is not a terminal); the account's sessions end."""
    from leakmon.web import accounts

    password = read_password()
    app = open_app()
    with app.sessions.begin() as session:
        accounts.set_password(session, name, password)
        audit.record(session, "user_passwd", f"user {name}", rows=1, actor=actor)
    app.close()
    console.print(f"password of {name} changed", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
