"""Typed domain errors; the CLI maps each to one clear sentence and an exit code."""

from __future__ import annotations


class LeakmonError(Exception):
    """Base of every error the CLI reports as a sentence rather than a traceback."""

    exit_code = 2


class ConfigError(LeakmonError):
    """The configuration or the workspace is not usable."""


class KeyError_(LeakmonError):
    """The key file is missing, unreadable or has unsafe permissions."""

    exit_code = 3


class InputError(LeakmonError):
    """An input file cannot be used (missing, unknown columns, bad encoding)."""


class NotFoundError(LeakmonError):
    """A named thing (incident, case, source) does not exist."""

    exit_code = 4
