"""`leakmon keys list|rotate`: key ids in use, and re-keying the protected set.

A keyed digest cannot be converted to another key without the plaintext, so ``rotate`` re-reads
the protected-set file(s) and swaps the set atomically (see :mod:`leakmon.workflows.rotation`).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from leakmon.app import App
from leakmon.choices import Format, FormatOption
from leakmon.keyring import Keyring
from leakmon.output import console, err_console, write_records
from leakmon.workflows import rotation
from leakmon.workflows.rotation import parse_source

keys_app = typer.Typer(help="Key ids in use and key rotation (keys never enter the database).")


@keys_app.command("list")
def list_(fmt: FormatOption = Format.TABLE) -> None:
    """List the key ids in use and where each comes from (never the keys).

    With LEAKMON_HMAC_KEY set, its key is the active HMAC key, whatever the key file says.
    """
    ring = App().keyring
    write_records(key_rows(ring), fmt=fmt, columns=["purpose", "key_id", "active", "from"], title=str(ring.path))


def key_rows(ring: Keyring) -> list[dict[str, object]]:
    """One row per key: the key file's keys, and the HMAC key LEAKMON_HMAC_KEY puts in use."""
    from_env = ring.active_key("hmac")[0] if os.environ.get("LEAKMON_HMAC_KEY") else None
    rows: list[dict[str, object]] = []
    for purpose, keys in ring.keys.items():
        active = from_env if purpose == "hmac" and from_env else ring.active.get(purpose)
        for key_id in keys:
            origin = "key file + LEAKMON_HMAC_KEY" if purpose == "hmac" and key_id == from_env else "key file"
            rows.append({"purpose": purpose, "key_id": key_id, "active": key_id == active, "from": origin})
    if from_env and from_env not in ring.keys.get("hmac", {}):
        rows.insert(0, {"purpose": "hmac", "key_id": from_env, "active": True, "from": "LEAKMON_HMAC_KEY"})
    return rows


@keys_app.command("rotate")
def rotate(
    source: Annotated[
        list[str],
        typer.Option(
            "--source",
            help="Protected-set file to re-hash, repeatable; FILE::subject_column=COL;HEADER=TYPE;... gives it "
            "its own mapping.",
        ),
    ],
    subject_column: Annotated[
        str, typer.Option("--subject-column", help="Subject reference column of files without their own mapping.")
    ] = "subject_ref",
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="HEADER=TYPE for files without their own mapping, repeatable."),
    ] = None,
    allow_shrink: Annotated[
        bool, typer.Option("--allow-shrink", help="Accept a new set with fewer digests than the current one.")
    ] = False,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Keep the old key in the key file.")] = False,
) -> None:
    """Create a new HMAC key, re-hash every protected-set file under it and swap atomically.

    Refused when the new set is smaller than the current one (a file left out) unless --allow-shrink;
    a failed rotation leaves no new key behind. Suppression rules follow their subjects.
    """
    specs = [parse_source(text, subject_column=subject_column, columns=column or []) for text in source]
    app = App()
    app.require_schema()
    try:
        result = rotation.rotate(app, specs, allow_shrink=allow_shrink, keep_old=keep_old)
    finally:
        app.close()
    for path, digests in result.per_file.items():
        console.print(f"  {path}: {digests} digests", markup=False)
    console.print(
        f"rotated: {result.inserted} digests under key {result.new_key} replace {result.removed} under key "
        f"{result.old_key}; suppression rules kept: {result.rules_kept}",
        markup=False,
    )
    if result.rules_stranded:
        err_console.print(
            f"{result.rules_stranded} suppression rule(s) bound to a digest alone (hits without one subject) "
            "no longer match; see `leakmon hits rules`",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
