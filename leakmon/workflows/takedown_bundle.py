"""A takedown case's evidence bundle as one ZIP file: the request drafts for every recipient, the
case's state history and a manifest with the SHA-256 of each file in the bundle.

What the drafts say is :mod:`leakmon.workflows.drafts` (categories and counts, never identifier
values). The sealed post text (:mod:`leakmon.workflows.evidence`) is deliberately not included: it
holds the victims' data itself, and a request never needs more than the permalink and the wording.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from leakmon.errors import InputError
from leakmon.workflows import drafts
from leakmon.workflows.draft_phrases import RECIPIENTS
from leakmon.workflows.tables import write_rows
from leakmon.workflows.takedown import get_case, history

HISTORY_COLUMNS = ("at", "from_state", "to_state", "actor", "note")


def bundle(session: Session, case_id: int, *, made_by: str, at: datetime | None = None) -> bytes:
    """The ZIP bytes of case ``case_id``'s bundle (drafts for every recipient that can be written)."""
    case = get_case(session, case_id)
    at = at or datetime.now(UTC)
    files: dict[str, bytes] = {}
    skipped: dict[str, str] = {}
    for to in RECIPIENTS:
        try:
            files[f"draft-{to}.txt"] = drafts.render(session, case.id, to).encode("utf-8")
        except InputError as exc:  # a case whose post was purged: say so in the manifest
            skipped[to] = str(exc)
    out = io.StringIO()
    rows = (
        {"at": e.at, "from_state": e.from_state or "", "to_state": e.to_state, "actor": e.actor, "note": e.note}
        for e in history(session, case.id)
    )
    write_rows(rows, HISTORY_COLUMNS, "csv", None, out)
    files["history.csv"] = ("\ufeff" + out.getvalue()).encode("utf-8")
    manifest = {
        "case": case.id,
        "scope": case.scope,
        "source": case.source,
        "permalink": case.permalink,
        "state": case.state,
        "made_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "made_by": made_by,
        "drafts_not_written": skipped,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=at.astimezone(UTC).timetuple()[:6])
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
