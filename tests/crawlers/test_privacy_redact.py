"""The one redaction rule (crawlers/redact.py): judged after de-obfuscation, positions and sizes kept."""

from __future__ import annotations

import pytest

from crawlers.model import Attachment, CrawledPost
from crawlers.redact import Redactor, redact, redact_url
from tests.identifier_forms import IDENTIFIER_FORMS, KEPT

KEY = b"r" * 32


@pytest.mark.parametrize(("text", "secrets"), IDENTIFIER_FORMS, ids=[t for t, _ in IDENTIFIER_FORMS])
def test_every_identifier_form_is_masked(text: str, secrets: tuple[str, ...]) -> None:
    """The same table as tests/leakmon/scheduler/test_logs.py: stored fields and logs mask alike."""
    masked = redact(text)
    assert "[redacted]" in masked
    assert [secret for secret in secrets if secret in masked] == []
    assert Redactor(KEY).ref(text) != text  # as a post id: a keyed reference


@pytest.mark.parametrize("text", KEPT)
def test_addresses_ports_timestamps_and_sizes_stay(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kim_010-1234-5678.xlsx", "kim_[redacted].xlsx"),
        ("940309-2761951_list.csv", "[redacted]_list.csv"),
        ("샘플 공일공 삼일사일 오구이육 판매", "샘플 [redacted] 판매"),  # Hangul digit words
        ("⓪①⓪-③①④①-⑤⑨②⑥.csv", "[redacted].csv"),  # circled digits
        ("０１０－３１４１－５９２６ 문의", "[redacted] 문의"),  # full-width
        ("seller kim0101 (at) kakao (dot) com", "seller [redacted]"),  # spelled-out e-mail
        ("dump.csv:row 01012345678", "dump.csv:row [redacted]"),  # a "position" that is a phone
        ("born 19900101.csv", "born [redacted].csv"),  # an 8-digit birthdate
        ("https://forum.test/thread/123456789", "https://forum.test/thread/[redacted]"),  # 9 digits
        ("call 123-4567", "call [redacted]"),  # a formatted local number
    ],
)
def test_identifier_shaped_spans_are_masked_after_deobfuscation(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "attachment larger than 8388608 bytes",  # issue 15 item 11: was "larger than [redacted] bytes"
        "file over 67108864 bytes",
        "dump.csv:row 1234567",
        "text:line 2345678",
        "https://t.me/c/1234567890/42!list.csv",
        "회원 디비 팝니다 50만건",
        "https://forum.test/viewtopic.php?t=1234567",  # a topic id: the permalink must keep working
        "dump.csv:row 123456789",
    ],
)
def test_positions_sizes_and_telegram_links_stay(text: str) -> None:
    assert redact(text) == text


def test_post_ids_become_stable_keyed_references() -> None:
    redactor = Redactor(KEY)
    ref = redactor.ref("/leaks/940309-2761951_list.csv")
    assert ref.startswith("/leaks/[redacted]_list.csv~")
    assert ref == Redactor(KEY).ref("/leaks/940309-2761951_list.csv")  # re-crawls find the post
    assert ref != Redactor(b"s" * 32).ref("/leaks/940309-2761951_list.csv")  # keyed, not a plain hash
    assert redactor.ref(ref) == ref  # a reference is left alone by the rule
    assert redactor.ref("-1001234567890/42") == "-1001234567890/42"  # Telegram's numeric ids keep working
    assert redactor.ref("https://forum.test/t/77") == "https://forum.test/t/77"


def test_a_post_is_redacted_field_by_field() -> None:
    post = CrawledPost(
        source="forum",
        external_id="p-01031415926",
        venue="forum",
        text="the text is matched, not stored: 010-3141-5926",
        url="http://forum.test/t/1?contact=kim%40naver.com",
        title="DB 공일공 삼일사일 오구이육",
        author="⓪①⓪-②⑦①⑧-②⑧①⑧",
        attachments=(Attachment(name="kim_01031415926.csv", data=b"x"),),
    )
    safe = Redactor(KEY).post(post)
    assert safe.text == post.text
    assert (safe.url, safe.title, safe.author) == (
        "http://forum.test/t/1?contact=[redacted]",
        "DB [redacted]",
        "[redacted]",
    )
    assert [a.name for a in safe.attachments] == ["kim_[redacted].csv"]
    assert safe.external_id.startswith("p-[redacted]~")
    assert redact_url("https://t.me/c/1234567890/42") == "https://t.me/c/1234567890/42"


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        ("https://forum.example/view?mail=kim%40naver.com", ("kim%40naver", "kim@naver")),
        ("board?tel=010%2D4235%2D2674&page=2", ("010%2D4235%2D2674", "010-4235-2674")),
        ("dump_kim%2Elee%40daum%2Enet.csv", ("kim%2Elee%40daum", "kim.lee@daum")),
    ],
)
def test_percent_escaped_identifiers_are_masked(text: str, secrets: tuple[str, ...]) -> None:
    masked = redact(text)
    assert "[redacted]" in masked
    assert not any(secret in masked for secret in secrets)
    reference = Redactor(b"k" * 32).ref(text)  # a post id (a page-as-post's URL) is a keyed reference
    assert reference != text
    assert not any(secret in reference for secret in secrets)


def test_percent_escapes_without_identifiers_stay_as_written() -> None:
    assert redact("100% pure, 50%OFF, a%20b?page=2") == "100% pure, 50%OFF, a%20b?page=2"
