"""Keep secrets out of every log line and error text.

Existing connectors leak the client secret and refresh tokens into logs. Here every secret registers
itself the moment it is known (settings load, each token response, each authorization code) and
`install_redaction()` makes the logging machinery of the whole process replace them, plus anything
that merely looks like a credential (`access_token=...`, `"refresh_token": "..."`, `Bearer ...`),
which covers values that were never registered, such as a code in a logged callback URL.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
# Shorter strings would mask ordinary words; no real credential is this short.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # form bodies and query strings: access_token=..., refresh_token=..., code=..., client_secret=...
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])((?:access_token|refresh_token|client_secret|code|password)=)"
            r"[^&\s'\"]+"
        ),
        r"\1" + MASK,
    ),
    # JSON bodies: "access_token": "..."
    (
        re.compile(r'("(?:access_token|refresh_token|client_secret|password)"\s*:\s*")[^"]*(")'),
        r"\1" + MASK + r"\2",
    ),
    # Authorization headers
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/!=%*]{12,}"), r"\1 " + MASK),
)


def register_secret(value: str | None) -> None:
    """Mask `value` (and its URL-encoded forms) in all later log records and error texts."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    global _ordered
    with _lock:
        before = len(_secrets)
        _secrets.update({value, quote(value, safe=""), quote_plus(value)})
        if len(_secrets) != before:
            _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` with every registered secret and credential-looking value masked."""
    if not text:
        return text
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the record's message and traceback now, masked, so no handler sees the raw values."""
    if getattr(record, "_exactonline_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not break logging
        message = f"{record.msg} {record.args}"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text)
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._exactonline_redacted = True
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in each record it passes (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_FILTER = RedactingFilter()
_installed_factory: Callable[..., logging.LogRecord] | None = None
LOGGERS = ("singer_sdk", "tap-exactonline", "target-exactonline", "exactonline_api")


def install_redaction() -> None:
    """Mask secrets in every log record of this process (idempotent).

    Two layers: a record factory, so records are masked at creation whatever handler, formatter or
    logging configuration comes later (singer-sdk configures its own), and the filter on the root
    logger's and singer-sdk's current handlers.
    """
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is not _installed_factory:
        previous = current

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed_factory = factory
    for name in (None, *LOGGERS):
        for handler in logging.getLogger(name).handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
