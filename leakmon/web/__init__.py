"""The analyst console: local accounts, roles and a server-rendered web UI (``leakmon web``)."""
