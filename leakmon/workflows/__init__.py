"""What happens after a hit: triage, incidents and the legal clock, takedown cases, exports, audit, alerts.

Workflow functions take a Session and never commit: the ingest sink or the CLI command frames the
unit of work. Network delivery (alerts) happens only after commit, from the alert outbox.
"""
