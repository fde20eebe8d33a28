"""Scrapy-based web crawlers: forums, paste sites, t.me/s previews and generic (onion) sites.

Entry points: :func:`crawlers.web.runner.run_in_child` (records a run, crawls in a child process)
and :func:`crawlers.web.runner.crawl_here` (the crawl itself, once per process), with sources
validated by :func:`crawlers.web.config.parse_sources`.

Incremental model (``seen_pages``): every fetched page keeps its validators, content hash, links
and the post ids it held. A re-crawl revalidates recently changed pages with conditional requests
(304: nothing parsed, stored links followed), skips parsing pages whose body hash is unchanged,
and records as removed the posts of pages that now answer 404/410 and posts that left a page
without showing up anywhere else in the run. Paste sources (``revisit = "never"``) never re-request
a paste. Posts go to the :class:`~crawlers.interface.PostSink` before their page's state is saved,
so a crash or sink failure only makes the next run read the page again.
"""
