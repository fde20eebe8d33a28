"""``hit_rows`` builds exactly the rows the plain construction builds (every field, in order), on
every hit of the mixed corpus and on hits sharing or not sharing locators and explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import pytest

from crawlers.analyzer import LocatedHit, _explanation, hit_rows
from crawlers.redact import redact_locator
from matchers.engine import Matcher
from matchers.model import PARTIAL, Explanation, Hit
from storage.repositories.hits import HitRow
from tests.matchers.mixed_corpus import cases, run_case

_BUILT: dict[tuple[str, tuple[tuple[str, object], ...]], Matcher] = {}


def reference_rows(located: Iterable[LocatedHit], source: str) -> Iterator[HitRow]:
    """The rows as built before the per-line and per-explanation caches (keyword construction)."""
    for item in located:
        hit = item.hit
        subjects = (None,) if hit.match_kind == PARTIAL else hit.subject_ids
        for subject_id in subjects:
            yield HitRow(
                attachment_sha256=item.attachment_sha256,
                source=source,
                locator=redact_locator(item.locator)[:2048],
                id_type=hit.id_type,
                form=hit.form,
                digest=hit.digest,
                key_id=hit.key_id,
                subject_id=subject_id,
                subject_slot=subject_id or 0,
                compatible_subjects=len(hit.subject_ids),
                match_kind=hit.match_kind,
                obfuscation=hit.obfuscation_label,
                confidence=hit.confidence,
                masked=hit.masked[:255],
                explanation=json.dumps(_explanation(hit), ensure_ascii=False),
            )


@pytest.mark.parametrize("case", list(cases()), ids=lambda case: case.name)
def test_rows_of_the_mixed_corpus(case) -> None:  # type: ignore[no-untyped-def]
    hits = run_case(case, _BUILT)
    located = [LocatedHit(h, f"dump.csv:row {h.line + 2}", "token") for h in hits]
    got = list(hit_rows(located, "scan"))
    assert got == list(reference_rows(located, "scan"))
    assert all(type(row) is HitRow for row in got)


def test_locators_and_explanations_shared_or_not() -> None:
    """Equal explanations as distinct objects, None, a locator with an identifier in it, repeats."""
    explain = Explanation("phone.fast", None, ("전화",), ("exact match",))
    twin = Explanation("phone.fast", None, ("전화",), ("exact match",))

    def hit(explanation: Explanation | None, kind: str = "exact", subjects: tuple[int, ...] = (1, 2)) -> Hit:
        return Hit("phone", b"d" * 32, "k", subjects, kind, (), 0.9, "010-****-5678", 0, "full", explanation)

    located = [
        LocatedHit(hit(explain), "a.csv:row 2", None),
        LocatedHit(hit(twin), "a.csv:row 2", None),
        LocatedHit(hit(None, PARTIAL, (4, 5, 6)), "mail kim@naver.com.csv:row 2", "t"),
        LocatedHit(hit(explain), "mail kim@naver.com.csv:row 2", "t"),
        LocatedHit(hit(twin), "a.csv:row 3", None),
        LocatedHit(hit(explain), "a.csv:row 2", None),
    ]
    got = list(hit_rows(located, "scan"))
    assert got == list(reference_rows(located, "scan"))
    assert "kim@naver.com" not in "".join(row.locator for row in got)
