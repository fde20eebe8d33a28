"""One registry of finding kinds for every venue: each kind a crawler, reader or the sink emits is a
:class:`crawlers.model.FindingKind` (stored strings: API)."""

from __future__ import annotations

import ast
from pathlib import Path

from crawlers.model import FindingKind

CRAWLERS = Path(__file__).resolve().parents[2] / "crawlers"
#: Calls whose argument at this position (or ``kind=``) is a finding kind.
KIND_ARGUMENT = {"Finding": 1, "skipped": 0, "ChatUnavailable": 0, "CapExceeded": 0}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _emitted() -> dict[str, str]:
    """Literal kinds in the crawlers package: kind -> where."""
    found: dict[str, str] = {}
    for path in sorted(CRAWLERS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call) and (position := KIND_ARGUMENT.get(_name(node.func) or "")) is not None:
                values += [kw.value for kw in node.keywords if kw.arg == "kind"]
                values += node.args[position : position + 1]
            elif path.name == "failures.py" and isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                values += node.value.elts[:1]  # crawlers/web/failures.py: (kind, reason)
            elif isinstance(node, ast.Assign) and any(_name(t) == "_CHAT_ERRORS" for t in node.targets):
                assert isinstance(node.value, ast.Dict)
                values += [v for v in node.value.values if v is not None]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found[value.value] = f"{path.relative_to(CRAWLERS.parent)}:{value.lineno}"
    return found


def test_every_emitted_finding_kind_is_registered() -> None:
    emitted = _emitted()
    assert len(emitted) > 30  # the scan sees the venues' kinds
    unknown = {kind: where for kind, where in emitted.items() if kind not in {k.value for k in FindingKind}}
    assert unknown == {}


def test_kinds_are_stored_strings() -> None:
    assert FindingKind.CORRUPT == "corrupt"
    assert len({kind.value for kind in FindingKind}) == len(FindingKind)
    assert all(kind.value == kind.value.lower() and " " not in kind.value for kind in FindingKind)
