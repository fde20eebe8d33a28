"""Scrapy-based web crawlers: forums, paste sites, t.me/s previews and generic (onion) sites.

Entry points: :func:`crawlers.web.runner.run_in_child` (one child process per crawl) and
:func:`crawlers.web.config.parse_sources`.
"""
