"""What the output of every command is checked for: no secret in any form it could be printed in,
and an expected error reported as one clear line.

The renderings are computed here, independently of `exactonline_api.redact`, so a gap in the
redaction cannot hide itself from the tests.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

# Secrets given with the wrong type (a YAML slip, a number-only secret, a pasted list): each case
# is one config, so one run checks two settings. Every text is distinctive, so a hit is a leak.
WRONG_TYPED_SECRETS: list[dict[str, Any]] = [
    {"client_secret": 98765432123, "refresh_token": ["tok-list-7f3a91", "tok-list-2b8c44"]},
    {"client_secret": 4815162342.125, "refresh_token": {"token": "tok-dict-5e6f77"}},
    {"client_secret": ["sec-list-9a0b1c", 424242424242], "refresh_token": 55555555555},
    {"client_secret": {"value": "sec-dict-3d4e5f"}, "refresh_token": True},
]

# Secrets that read like booleans: valid strings, so they reach Exact, which refuses them.
BOOL_LOOKING_SECRETS: dict[str, str] = {"client_secret": "True", "refresh_token": "false"}


def renderings(value: Any) -> set[str]:
    """Every text `value` could be printed as: str, repr, JSON, and the same for each part."""
    texts: set[str] = set()

    def add(item: Any) -> None:
        if isinstance(item, bool):
            return  # `true` is in every catalog: a boolean is a slip, never a secret's text
        texts.update({str(item), repr(item)})
        with contextlib.suppress(TypeError, ValueError):
            texts.update({json.dumps(item), json.dumps(item, separators=(",", ":"))})
        if isinstance(item, dict):
            for inner in item.values():  # the keys are structure, not secrets
                add(inner)
        elif isinstance(item, list | tuple):
            for inner in item:
                add(inner)

    add(value)
    return texts


def _occurs(text: str, blob: str) -> bool:
    """`text` in `blob` as a token of its own (so `True` is not found inside `TrueColor`)."""
    if re.fullmatch(r"\w+", text):
        return re.search(rf"(?<![\w-]){re.escape(text)}(?![\w-])", blob) is not None
    return text in blob


def assert_never_printed(outputs: Iterable[str], values: Iterable[Any]) -> None:
    """Fail (without printing the value) if any rendering of any value occurs in the outputs."""
    blob = "\n".join(outputs)
    for number, value in enumerate(values):
        for text in sorted(renderings(value)):
            if _occurs(text, blob):
                pytest.fail(f"value #{number} ({type(value).__name__}) was printed", pytrace=False)


def secret_values(config: dict[str, Any]) -> Iterator[Any]:
    """The values of the sensitive settings in a config."""
    for name in ("client_secret", "refresh_token"):
        if config.get(name) is not None:
            yield config[name]


def assert_one_error_line(stderr: str, program: str, error: str, *phrases: str) -> str:
    """The run ended with exactly one error line, `<program>: <error>: ...`, and nothing that
    reads like a crash: no traceback, no singer-sdk "unhandled error", no other ERROR record."""
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "An unhandled error occurred" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    mine = [line for line in lines if line.startswith(f"{program}: ")]
    assert mine == [lines[-1]], stderr[-3000:]
    assert not [line for line in lines if "| ERROR " in line or '"level":"error"' in line]
    line = lines[-1]
    assert line.startswith(f"{program}: {error}: "), line
    for phrase in phrases:
        assert phrase in line, (phrase, line)
    return line
