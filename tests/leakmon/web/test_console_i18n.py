"""Korean by default: no page shows an English label of the catalogue untranslated; the 72-hour
clock reads whole in Korean ("OVERDUE by" was half-translated) and whole in English."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest

from leakmon.web import i18n
from leakmon.workflows.takedown import open_case
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import add_users, client, sign_in
from tests.leakmon.workflows.world import Db

#: Catalogue keys that are English words with a Korean label (keys like ``joined:new`` are not shown).
ENGLISH = {key for key, value in i18n.KO.items() if key != value and ":" not in key}


class _Texts(HTMLParser):
    """The visible text of a page (text nodes and placeholders), scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts.extend(value for name, value in attrs if name in ("placeholder", "title") and value)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())


def _untranslated(html: str) -> set[str]:
    parser = _Texts()
    parser.feed(html)
    # Whole labels only: a matcher's reason sentence ("exact digest match") is evidence, not a label.
    return {piece.rstrip(": ") for piece in parser.texts if piece.rstrip(": ") in ENGLISH}


@pytest.fixture
def seeded(cli_db: Db) -> Seeded:
    s = seed(cli_db)
    add_users(cli_db)
    with cli_db.sessions.begin() as session:
        open_case(session, s.leak_post, actor="tester")
    return s


def test_no_page_in_korean_shows_an_english_catalogue_label(seeded: Seeded) -> None:
    pages = [
        "/incidents",
        "/incidents?all=1",
        f"/incidents/{seeded.incident}",
        f"/incidents/{seeded.ad_incident}",
        "/hits",
        f"/hits?incident={seeded.incident}",
        f"/hits/{seeded.hit}",
        "/hits/rules",
        "/takedown",
        "/sources",
        "/exports",
        "/charts",
        "/incidents/999999",  # an error page
    ]
    with client() as http:
        sign_in(http, "admin")
        for path in pages:
            body = http.get(path).text
            assert _untranslated(body) == set(), path
        http.get("/logout")
        assert _untranslated(http.get("/login").text) == set()


def test_the_clock_reads_whole_in_each_language(seeded: Seeded) -> None:
    assert i18n.left("ko", timedelta(hours=-4, minutes=-10)) == "기한 초과 4시간 10분"
    assert i18n.left("ko", timedelta(hours=31, minutes=5)) == "31시간 05분 남음"
    assert i18n.left("en", timedelta(hours=-4, minutes=-10)) == "OVERDUE by 4h 10m"
    assert i18n.left("en", timedelta(hours=31, minutes=5)) == "31h 05m left"
    assert i18n.left("ko", None) == "-"
    with client() as http:
        sign_in(http, "viewer")
        korean = http.get("/incidents").text
        assert "기한 초과" in korean
        assert "OVERDUE" not in korean
        assert " by " not in korean
        http.get("/lang/en?next=/incidents")
        assert "OVERDUE by " in http.get("/incidents").text


def test_identifier_types_states_and_reasons_have_korean_labels() -> None:
    from leakmon.workflows.hitviews import STATUSES
    from leakmon.workflows.takedown import TRANSITIONS
    from matchers.registry import IdentifierRegistry
    from storage.models.cases import INCIDENT_STATUSES

    for word in (*STATUSES, *TRANSITIONS, *INCIDENT_STATUSES, "exact", "composite", "partial"):
        assert i18n.translate("ko", word) != word, word
    builtin = [r.id_type for r in IdentifierRegistry.default().recognizers()]
    missing = [t for t in builtin if i18n.translate("ko", t) == t]
    assert missing == []
    assert i18n.reason("ko", "unique_id:rrn") == "고유식별정보: 주민등록번호"
    assert i18n.reason("ko", "subjects>=1000") == "대상자 수 >= 1000"
    assert i18n.reason("ko", "intrusion") == "침해사고"
