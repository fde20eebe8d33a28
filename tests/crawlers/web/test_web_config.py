"""Source configuration: validation cases, defaults, secrets from the environment."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crawlers.web.config import SourceConfig, SourceConfigError, parse_source, parse_sources

BASE: dict[str, Any] = {"kind": "site", "start_urls": ["https://a.example.kr/board"]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_urls": []}, "start_urls"),
        ({"start_urls": ["javascript:alert(1)"]}, "is not an http(s) URL"),
        ({"kind": "wiki"}, "kind"),
        ({"start_urls": ["http://abcdef.onion/"]}, ".onion hosts need a proxy"),
        ({"allowed_domains": ["market.onion"]}, ".onion hosts need a proxy"),
        ({"proxy": "socks5://127.0.0.1:9050"}, "SOCKS is not supported"),
        ({"obey_robots": False}, "needs robots_override_reason"),
        ({"obey_robots": False, "robots_override_reason": "  "}, "needs robots_override_reason"),
        ({"schedule": "every day"}, "neither an interval"),
        ({"schedule": "* * *"}, "neither an interval"),
        ({"depth": -1}, "depth"),
        ({"concurrency": 0}, "concurrency"),
        ({"selectors": {"psot": "div"}}, "psot"),
        ({"selectors": {"post": "div[class="}}, "is not a valid CSS selector"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_invalid_sources_are_refused_with_one_sentence(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SourceConfigError) as caught:
        parse_source("s1", {**BASE, **changes})
    assert str(caught.value).startswith("source 's1': ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"schedule": "30m"},
        {"schedule": "0 */4 * * *"},
        {"schedule": "15 3 * * mon-fri"},
        {"start_urls": ["http://abcdef.onion/"], "proxy": "http://127.0.0.1:8118"},
        {"obey_robots": False, "robots_override_reason": "own site, written permission"},
        {"kind": "forum", "selectors": {"post": "div.post", "next_page": "a.next"}},
    ],
)
def test_valid_sources(changes: dict[str, Any]) -> None:
    parse_source("s1", {**BASE, **changes})


def test_defaults() -> None:
    config = SourceConfig.model_validate({**BASE, "attachment_extensions": [".CSV", "Zip"]})
    assert config.allowed_domains == ["a.example.kr"]
    assert config.obey_robots is True
    assert config.attachment_extensions == ["csv", "zip"]
    assert config.effective_revisit == "conditional"
    assert SourceConfig.model_validate({**BASE, "kind": "paste"}).effective_revisit == "never"


def test_every_field_has_a_description() -> None:
    from crawlers.web.config import Selectors

    for model in (SourceConfig, Selectors):
        missing = [name for name, field in model.model_fields.items() if not field.description]
        assert missing == [], model.__name__


def test_secrets_come_from_the_environment_only() -> None:
    config = SourceConfig.model_validate(
        {**BASE, "headers": {"Authorization": "FORUM_TOKEN"}, "cookies": {"sid": "FORUM_SID"}}
    )
    headers, cookies = config.resolve_secrets({"FORUM_TOKEN": "Bearer t0k", "FORUM_SID": "abc"})
    assert headers == {"Authorization": "Bearer t0k"}
    assert cookies == {"sid": "abc"}
    with pytest.raises(SourceConfigError, match="needs environment variable FORUM_SID"):
        config.resolve_secrets({"FORUM_TOKEN": "x"})


def test_parse_sources_is_sorted_and_names_the_bad_one() -> None:
    assert list(parse_sources({"b": BASE, "a": BASE})) == ["a", "b"]
    with pytest.raises(SourceConfigError, match="source 'bad'"):
        parse_sources({"good": BASE, "bad": {"kind": "site"}})


def test_every_field_is_documented_in_the_example_file() -> None:
    from pathlib import Path

    from crawlers.web.config import Selectors

    example = (Path(__file__).resolve().parents[3] / "config" / "sources.example.toml").read_text(encoding="utf-8")
    for model in (SourceConfig, Selectors):
        undocumented = [
            name for name in model.model_fields if not re.search(rf"^#\s+(?:\w+\s*[/,]\s*)*{name}\b", example, re.M)
        ]
        assert undocumented == [], model.__name__
