"""The Jinja2 environment of every HTML report, and the report timestamp.

Templates live in ``regime/reports/templates``; autoescaping is on for
``.html`` (model, scenario and report names are user text), and an undefined
variable is an error rather than an empty string.
"""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2


def template_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("regime", "reports/templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def now_utc() -> str:
    """The time a report is generated, to the minute, in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
