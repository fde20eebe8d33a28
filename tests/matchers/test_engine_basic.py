from __future__ import annotations

import pytest

from matchers.engine import Matcher
from matchers.model import COMPOSITE, EXACT


@pytest.mark.parametrize(
    ("text", "id_type", "subjects"),
    [
        ("1,홍길동,010-1234-5678,x", "phone", (1,)),
        ("tel 01012345678", "phone", (1,)),
        ("mail: KIM.CHULSOO@DAUM.NET", "email", (1,)),
        ("02-345-6789", "phone", (2, 3)),
    ],
)
def test_plain_exact(matcher: Matcher, text: str, id_type: str, subjects: tuple[int, ...]) -> None:
    hits = matcher.scan_text(text)
    assert [(h.id_type, h.match_kind, h.subject_ids) for h in hits] == [(id_type, EXACT, subjects)]


def test_name_plus_phone_is_composite(matcher: Matcher) -> None:
    hits = matcher.scan_text("김철수,010-1234-5678")
    kinds = {(h.id_type, h.match_kind, h.subject_ids) for h in hits}
    assert kinds == {("phone", EXACT, (1,)), ("name", COMPOSITE, (1,))}
