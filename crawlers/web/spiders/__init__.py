"""Spiders by source kind: :class:`SiteSpider` (forum, paste, site) and :class:`TmePreviewSpider`."""

from __future__ import annotations

from crawlers.web.spiders.base import WebSpider
from crawlers.web.spiders.site import SiteSpider
from crawlers.web.spiders.tme import TmePreviewSpider

SPIDERS: dict[str, type[WebSpider]] = {
    "forum": SiteSpider,
    "paste": SiteSpider,
    "site": SiteSpider,
    "tme_preview": TmePreviewSpider,
}

__all__ = ["SPIDERS", "SiteSpider", "TmePreviewSpider", "WebSpider"]
