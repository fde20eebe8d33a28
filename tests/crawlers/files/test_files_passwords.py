"""Password candidates from the post text, and what the reader does with them."""

from __future__ import annotations

import pytest
from files_builders import kinds, lines_at, raw_zip

from crawlers.files import passwords_from_text, read_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("비번: 1234", ["1234"]),
        ("비밀번호 1234", ["1234"]),
        ("압축 비번은 abcd", ["abcd"]),
        ("암호: 똠방각하", ["똠방각하"]),
        ("pw: infected", ["infected"]),
        ("PW:infected", ["infected"]),
        ("pass: x", ["x"]),
        ("password x", ["x"]),
        ('Password: "two words"', ["two words"]),
        ("비번: 「가나다」 입니다", ["가나다"]),
        ("샘플 올림. 비번 q1w2e3.", ["q1w2e3.", "q1w2e3"]),
        ("pw: a / 암호: b / pw: a", ["a", "b"]),
        ("판매합니다 텔레그램 문의", []),
        ("passport 123, compass 5, bypass 7", []),
    ],
)
def test_passwords_from_text(text: str, expected: list[str]) -> None:
    assert passwords_from_text(text) == expected


def test_only_candidates_are_tried_and_none_appear_in_findings() -> None:
    data = raw_zip([(b"users.txt", b"kim@naver.com\n")], password=b"real-one")
    tried = ["guess-a", "guess-b"]
    items = list(read_bytes("locked.zip", data, passwords=tried))
    assert kinds(items) == ["encrypted_no_password"]
    assert "guess-a" not in repr(items)
    assert "real-one" not in repr(items)
    assert lines_at(read_bytes("locked.zip", data, passwords=[*tried, "real-one"])) == {
        "locked.zip!users.txt:line 1": "kim@naver.com"
    }
