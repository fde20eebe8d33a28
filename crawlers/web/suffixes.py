"""The Public Suffix List from tldextract's bundled snapshot only: a crawl never fetches it.

Scrapy's cookie middleware asks tldextract whether a cookie's domain is a public suffix; by
default tldextract downloads the list from GitHub on first use, directly (not through the
source's proxy) and caches it in the home folder. For a Tor source that request would expose
the monitor, so the crawl process swaps Scrapy's extractor for one that never goes online.
"""

from __future__ import annotations

import os

from tldextract import TLDExtract

#: tldextract reads this when an extractor is built: empty means "no URL to fetch".
_URLS_VARIABLE = "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"


def offline_extractor() -> TLDExtract:
    """An extractor that uses the snapshot shipped with tldextract: no download, no cache file."""
    return TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True, include_psl_private_domains=True)


def use_bundled_public_suffixes() -> None:
    """Make Scrapy's cookie middleware (and any later extractor) use the bundled list only.

    Raises RuntimeError when Scrapy no longer has the extractor this replaces: crawling on
    with a fetching extractor would leak, so a Scrapy upgrade must revisit this.
    """
    os.environ[_URLS_VARIABLE] = ""
    from scrapy.downloadermiddlewares import cookies

    if not isinstance(getattr(cookies, "_split_domain", None), TLDExtract):
        raise RuntimeError("scrapy's cookie middleware changed: cannot keep tldextract offline; not crawling")
    cookies._split_domain = offline_extractor()
