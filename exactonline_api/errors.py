"""The errors the client raises, so the tap and target can tell "stop", "reject" and "retry later" apart.

Every message passes through `redact`, so an error text never carries a token or secret, even when
Exact echoes part of a request back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from exactonline_api.redact import redact

LOGIN_HINT = "run `exactonline-auth login` to authorize the app again"


class ExactError(Exception):
    """Base of every error raised by `exactonline_api`."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(ExactError):
    """A setting is missing or wrong; raised before any call is made.

    `problems` lists every (setting, message) found, so one run reports all the typos of a
    config at once; `setting` is the first of them.
    """

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        self.problems: tuple[tuple[str, str], ...] = ((setting, message),)
        super().__init__(f"setting '{setting}': {message}")

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> ConfigError:
        """One error for several problems, all on one line."""
        error = cls(*problems[0])
        if len(problems) > 1:
            error.problems = tuple(problems)
            text = "; ".join(f"setting '{setting}': {message}" for setting, message in problems)
            error.args = (redact(text),)
        return error


class ApiError(ExactError):
    """Exact answered with an error status; carries Exact's own message text."""

    def __init__(self, status: int, endpoint: str, message: str) -> None:
        self.status = status
        self.endpoint = endpoint
        self.detail = redact(message)
        super().__init__(f"Exact answered {status} for {endpoint}: {message}")

    @classmethod
    def from_response(cls, status: int, endpoint: str, body: bytes | str) -> ApiError:
        return cls(status, endpoint, error_text(body) or f"HTTP {status}")


class AuthExpiredError(ExactError):
    """The OAuth grant is unusable (rotated away, expired, revoked): only a new login helps."""

    def __init__(self, reason: str) -> None:
        self.reason = redact(reason)
        super().__init__(f"Exact refused the refresh token ({reason}); {LOGIN_HINT}")


class DailyLimitReached(ExactError):
    """The daily call budget of a division is spent; calls may resume at `reset_at` (UTC)."""

    def __init__(self, division: int | None, reset_at: datetime) -> None:
        self.division = division
        self.reset_at = reset_at
        when = reset_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(
            f"the daily API call limit of division {division} is reached; it resets at {when}"
        )


class TokenStoreUnavailable(ExactError):
    """The shared token store (a database) cannot be reached or used: the run stops.

    Never answered by falling back to a local file: a second copy of the grant would fork it, and
    the next refresh on either side kills the other.
    """


class WriteOutcomeUnknown(ExactError):
    """A write was sent but no answer came back: it may or may not have landed.

    Never retried blindly (that could create a duplicate); the caller looks the record up and decides.
    """

    def __init__(self, method: str, endpoint: str, cause: str) -> None:
        self.method = method
        self.endpoint = endpoint
        super().__init__(
            f"{method} {endpoint} was sent but its outcome is unknown ({cause}); "
            "look the record up before writing it again"
        )


class TransportError(ExactError):
    """Exact could not be reached (or kept failing with 5xx) after every allowed retry."""

    def __init__(self, method: str, endpoint: str, cause: str, tries: int) -> None:
        self.method = method
        self.endpoint = endpoint
        self.tries = tries
        super().__init__(f"{method} {endpoint} failed after {tries} tries: {cause}")


def error_line(program: str, exc: BaseException) -> str:
    """The one line a command prints for an error it expected: no traceback, no secret."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(f"{program}: {type(exc).__name__}: {text}")


def error_text(body: bytes | str) -> str:
    """Exact's message from either error shape (REST or OAuth), else a short excerpt of the body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except ValueError:
        return redact(" ".join(text.split())[:300])
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
            if isinstance(msg, dict) and msg.get("value"):
                return redact(str(msg["value"]))
            if isinstance(msg, str) and msg:
                return redact(msg)
            if err.get("code"):
                return redact(str(err["code"]))
        if isinstance(err, str):
            desc = data.get("error_description")
            return redact(f"{err}: {desc}" if desc else err)
    return redact(" ".join(text.split())[:300])
