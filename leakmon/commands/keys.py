"""`leakmon keys list|rotate`: key ids in use, and re-keying the protected set.

A keyed digest cannot be converted to another key without the plaintext, so ``rotate`` re-reads
the protected-set file(s) and swaps the set atomically; the new key is written to the key file
(inactive) before the database changes and made active only after the swap committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakmon.app import App
from leakmon.errors import InputError
from leakmon.output import console, write_records
from leakmon.protect import ImportReport, hash_rows, open_planned
from matchers.keyed_hash import KeyedHasher
from storage.repositories.keys import active_key_ids, record_key, retire_key
from storage.repositories.protected import ProtectedLoader

keys_app = typer.Typer(help="Key ids in use and key rotation (keys never enter the database).")


@keys_app.command("list")
def list_(fmt: Annotated[str, typer.Option("--format", help="table, jsonl or csv.")] = "table") -> None:
    """List the key ids in the key file and which one is active (never the keys)."""
    app = App()
    ring = app.keyring
    rows = [
        {"purpose": purpose, "key_id": key_id, "active": key_id == ring.active.get(purpose)}
        for purpose, keys in ring.keys.items()
        for key_id in keys
    ]
    write_records(rows, fmt=fmt, columns=["purpose", "key_id", "active"], title=str(ring.path))


@keys_app.command("rotate")
def rotate(
    source: Annotated[list[Path], typer.Option("--source", help="Protected-set file(s) to re-hash under the new key.")],
    subject_column: Annotated[str, typer.Option("--subject-column", help="Subject reference column.")] = "subject_ref",
    column: Annotated[list[str] | None, typer.Option("--column", help="HEADER=TYPE mapping, repeatable.")] = None,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Keep the old key in the key file.")] = False,
) -> None:
    """Create a new HMAC key, re-hash the protected set under it and swap atomically."""
    from leakmon.runtime import build_registry, forms_for

    if not source:
        raise InputError("rotate needs --source FILE: digests cannot be re-keyed without the plaintext set")
    app = App()
    app.require_schema()
    ring = app.keyring
    old_id = ring.active.get("hmac")
    new_id = ring.add_new("hmac")
    if old_id:
        ring.active["hmac"] = old_id  # stays active until the swap has committed
    ring.save()
    hasher = KeyedHasher(ring.key("hmac", new_id), new_id)
    registry = build_registry(app)
    report = ImportReport()
    with app.sessions.begin() as session:
        loader = ProtectedLoader(session)
        for path in source:
            table, plan = open_planned(
                path, subject_column=subject_column, columns=column or [], known_types=registry.types
            )
            for batch in hash_rows(table, plan, hasher, forms_for(app, registry), report):
                loader.stage(batch)
        result = loader.finish(replace=True)
        record_key(session, new_id, "hmac")
        for key_id in active_key_ids(session, "hmac"):
            if key_id != new_id:
                retire_key(session, key_id)
    ring.active["hmac"] = new_id
    if old_id and not keep_old:
        ring.drop("hmac", old_id)
    ring.save()
    console.print(f"rotated: {result.inserted} digests under key {new_id} replace {result.removed} under key {old_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
