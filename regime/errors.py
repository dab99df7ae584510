"""Exceptions with the CLI exit code they map to.

Every error raised for bad input or an unavailable source is one sentence naming
the offending key, file or series. The CLI prints ``str(exc)`` and exits with
``exc.exit_code``; no traceback unless ``--debug``.
"""

from __future__ import annotations


class RegimeError(Exception):
    """Base class; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class BadInputError(RegimeError, ValueError):
    """Bad config, file, argument or data (exit code 2)."""

    exit_code = 2


class ModelCheckError(RegimeError):
    """A fitted model failed its diagnostic gates (exit code 3)."""

    exit_code = 3


class SourceUnavailableError(RegimeError):
    """A data source could not be reached or refused the request (exit code 4)."""

    exit_code = 4


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` by ``***``."""
    if secret:
        text = text.replace(secret, "***")
    return text
