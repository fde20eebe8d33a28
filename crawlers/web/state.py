"""The incremental crawl state under the redaction rule: what ``seen_pages`` may hold, and finding it again.

Leak-site URLs carry identifiers (``/view?phone=01012345678``, ``/u/kim@naver.com``). A page's
URL, its links and its post ids are stored through the crawler's one rule (:mod:`crawlers.redact`):

- a URL or link with nothing identifier-shaped in it (judged percent-decoded) is stored as it is;
  one with an identifier is stored as its keyed reference (:meth:`Redactor.ref` of the decoded
  URL: ``http://site/view?phone=[redacted]~<letters>``), and the row's ``url_hash`` is the SHA-256
  of that reference, so the next crawl finds the page by its real URL (equality is all the
  look-up needs) while the database holds no plaintext and no unkeyed digest of one;
- post ids are stored as the sink's own keyed references, so a post that vanished from a page is
  still marked removed through :meth:`~crawlers.interface.PostSink.record_removed`.

What a masked URL costs (the decision): a reference cannot be requested. A page whose own URL is
masked is revalidated only when a crawled page links it again (its conditional request, 304, its
content hash and the removal of its posts all work then), not from the stored state alone; a page
with a masked link is stored without its validators (ETag, Last-Modified), so the next crawl reads
it in full (200) and follows its real links instead of answering 304 with links it could not follow.
A row from before the rule whose URL holds an identifier is not used: the page is read as a new one
and that row is deleted when its state is saved (``leakmon purge --redact-stored`` rewrites the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from urllib.parse import unquote

from crawlers.redact import MASK, Redactor, redact_url
from storage.repositories.crawl import PageState


def stored_url(redactor: Redactor, url: str) -> str:
    """``url`` itself when it holds nothing identifier-shaped, else its keyed reference."""
    return url if redact_url(url) == url else redactor.ref(unquote(url))


def stored_state(redactor: Redactor, state: PageState) -> PageState:
    """The form of ``state`` that ``seen_pages`` may hold (see the module docstring)."""
    links = tuple(stored_url(redactor, link) for link in state.links)
    followable = links == state.links
    return replace(
        state,
        url=stored_url(redactor, state.url),
        links=links,
        post_ids=tuple(redactor.ref(post_id) for post_id in state.post_ids),
        etag=state.etag if followable else None,
        last_modified=state.last_modified if followable else None,
        redacted=True,
    )


def is_masked(state: PageState, value: str) -> bool:
    """True when ``value`` (the state's URL or one of its links) is a keyed reference, not a URL."""
    return state.redacted and MASK in value


class PageStates(Mapping[str, PageState]):
    """The loaded state of one source, looked up by the crawl's real (canonical) URLs.

    Iteration yields only pages whose URL can be requested again (a masked one cannot); a state
    found by its real URL carries that URL, and only the links that can be followed.
    """

    def __init__(self, stored: Mapping[str, PageState], redactor: Redactor) -> None:
        self._stored = dict(stored)
        self.redactor = redactor

    def stored_url(self, url: str) -> str:
        return stored_url(self.redactor, url)

    def stored_state(self, state: PageState) -> PageState:
        return stored_state(self.redactor, state)

    def post_refs(self, post_ids: Iterable[str]) -> set[str]:
        """Post ids as the sink stores them (references are their own reference)."""
        return {self.redactor.ref(post_id) for post_id in post_ids}

    def __getitem__(self, url: str) -> PageState:
        state = self._stored[self.stored_url(url)]
        links = tuple(link for link in state.links if not is_masked(state, link))
        return state if (state.url, state.links) == (url, links) else replace(state, url=url, links=links)

    def __iter__(self) -> Iterator[str]:
        for url, state in self._stored.items():
            if not is_masked(state, url) and self.stored_url(url) == url:
                yield url

    def __len__(self) -> int:
        return sum(1 for _ in self)
