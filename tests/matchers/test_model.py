"""The fast builders of matchers/model.py give exactly what the plain constructors give."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from matchers.engine import Matcher
from matchers.model import Explanation, Found, Hit, build_hit
from matchers.registry import IdentifierRegistry

FIELDS = (
    "phone",
    b"\x01" * 32,
    "key-id",
    (3, 7),
    "exact",
    ("separators",),
    0.93,
    "010-****-5678",
    12,
    "p3s4",
    Explanation("phone.fast", None, ("휴대폰",), ("exact match",)),
    {"column": "휴대폰"},
)


def test_build_hit_equals_the_constructor_field_for_field() -> None:
    built, plain = build_hit(*FIELDS), Hit(*FIELDS)  # type: ignore[arg-type]
    assert type(built) is Hit
    assert built == plain
    assert [getattr(built, f.name) for f in dataclasses.fields(Hit)] == list(FIELDS)
    assert pickle.loads(pickle.dumps(built)) == plain  # noqa: S301 - our own bytes
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.line = 3  # type: ignore[misc]


def test_found_with_subjects_changes_only_the_subjects() -> None:
    rec = IdentifierRegistry.default().get("rrn")
    found = Found.of(
        rec,
        "8505055123456",
        "full",
        digest=b"d" * 32,
        subjects=(1, 2, 3),
        line=4,
        start=9,
        obfuscation=(),
        extractor="rrn.fast",
        line_text="x",
    )
    assert found.id_type == "frn"  # the type follows the value
    narrowed = found.with_subjects((2,))
    assert type(narrowed) is Found
    assert narrowed == found._replace(subjects=(2,))
    assert found.subjects == (1, 2, 3)


def test_the_collector_is_paused_only_while_a_block_is_matched(matcher: Matcher) -> None:
    import gc

    seen: list[bool] = []
    original = matcher._fast_path

    def spy(block: bytes, lines: object) -> list[Found]:
        seen.append(gc.isenabled())
        return original(block, lines)  # type: ignore[arg-type]

    matcher._fast_path = spy  # type: ignore[method-assign]
    try:
        assert gc.isenabled()
        assert matcher.scan_text("김철수 010-1234-5678")
        assert gc.isenabled()
        assert seen == [False]
        gc.disable()  # a caller that turned it off keeps it off
        try:
            matcher.scan_text("010-1234-5678")
            assert not gc.isenabled()
        finally:
            gc.enable()
        matcher._fast_path = lambda block, lines: 1 / 0  # type: ignore[assignment,method-assign,return-value]
        with pytest.raises(ZeroDivisionError):
            matcher.scan_text("010-1234-5678")
        assert gc.isenabled()  # back on after a failure too
    finally:
        del matcher._fast_path
