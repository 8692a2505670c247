"""Keep secrets out of every log line and error text.

Existing connectors leak the client secret and refresh tokens into logs. Here every secret registers
itself the moment it is known (settings load, each token response, each authorization code) and
`install_redaction()` makes the logging machinery of the whole process replace them, plus anything
that merely looks like a credential (`access_token=...`, `"refresh_token": "..."`, `Bearer ...`
or `scheme://user:password@host`), which covers values that were never registered, such as a code
in a logged callback URL or a database password in a URL.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterator
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
    # passwords in URLs: postgresql://user:password@host (a store URL from any source)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s'\"]*:)[^@\s/'\"]+(@)"), r"\1" + MASK + r"\2"),
    # Authorization headers
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/!=%*]{12,}"), r"\1 " + MASK),
)


def register_secret(value: Any) -> None:
    """Mask `value` (and its URL-encoded forms) in all later log records and error texts.

    Any type: a secret given as a number, a list or a mapping (a YAML slip) is masked in every
    form it could be printed in (its text, its repr, its JSON, each element).
    """
    texts = {text for text in renderings(value) if len(text) >= MIN_SECRET_LENGTH}
    if not texts:
        return
    global _ordered
    with _lock:
        before = len(_secrets)
        for text in texts:
            _secrets.update({text, quote(text, safe=""), quote_plus(text)})
        if len(_secrets) != before:
            _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def renderings(value: Any) -> Iterator[str]:
    """Every text a value may be printed as: str, repr and JSON, and the same for each part."""
    if value is None or isinstance(value, bool):
        return  # None/True/False are words in every log, never a secret of their own
    if isinstance(value, str):
        yield value
        yield value.strip()
        yield repr(value)
        return
    yield str(value)
    yield repr(value)
    try:
        yield json.dumps(value)
        yield json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        pass
    if isinstance(value, dict):  # the values; keys are structure (`password`), not secrets
        for item in value.values():
            yield from renderings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from renderings(item)


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


# Records already masked. Kept beside the records, not on them: an attribute would travel with
# every record into structured (JSON) logs as an `extra` field.
_redacted: weakref.WeakSet[logging.LogRecord] = weakref.WeakSet()


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the record's message and traceback now, masked, so no handler sees the raw values."""
    if record in _redacted:
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
    _redacted.add(record)
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
