"""Logging guard rails: vendor loggers held at WARNING, identifiers redacted.

The first line of defence is that product code logs only ids, labels and
counts. This module adds the second: loggers of HTTP and vendor clients that
dump whole requests (prompts, SOQL, bodies) are held at WARNING, and a filter
on every handler redacts phone numbers, emails and dates that slip through.
"""

from __future__ import annotations

import logging

CHATTY_LOGGERS = (
    "anthropic", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3",
    "requests", "simple_salesforce", "great_expectations", "alembic",
)


def quiet_vendor_loggers() -> None:
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def install_redaction() -> None:
    """Add the redacting filter to every handler of the root and Prefect loggers."""
    try:
        from intake.redact import RedactingFilter
    except ImportError:  # the redaction module ships with the model layer
        return
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


def configure_logging() -> None:
    quiet_vendor_loggers()
    install_redaction()
