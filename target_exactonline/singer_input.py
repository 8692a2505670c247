"""Reading Singer messages from the input: a line that cannot be a message stops the run with
one line saying which input line and why, never a traceback.

The SDK's reader reads stdin with the locale's strict decoding, logs a traceback for a line that
is not JSON, and recurses without bound into nested JSON. This reader decodes UTF-8 keeping
invalid bytes (`surrogateescape`), so a bad byte inside a record's value becomes that record's
reject (see `odata.check_text`) instead of stopping the load; and it refuses, by line number,
what is no message it can read: not JSON, not an object, nested beyond `MAX_DEPTH`, a `type` it
does not read (BATCH names files to read), or without the keys its type needs.
"""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.json import deserialize_json

#: Deepest nesting a message may have. Messages of this target's streams are a few levels deep
#: (a record's lines, a schema's line properties); far deeper JSON is no Singer data, and
#: everything that walks it (parser, validation, the reject file) would run out of stack.
MAX_DEPTH = 100


#: What each message type must hold, and of which JSON type (None: any).
SHAPES: dict[str, dict[str, type | None]] = {
    "SCHEMA": {"stream": str, "schema": dict},
    "RECORD": {"stream": str, "record": None},
    "STATE": {"value": None},
    "ACTIVATE_VERSION": {"stream": str, "version": int},
}
_JSON_NAMES = {str: "a string", dict: "an object", int: "an integer"}


class BadInput(Exception):
    """An input line that is no Singer message: the run stops, naming the line."""


def depth_of(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth) for child in children)
    return deepest


def utf8_input(stream: IO[str]) -> IO[str]:
    """`stream` read as UTF-8 whatever the locale, keeping invalid bytes as surrogates."""
    raw = getattr(stream, "buffer", None)
    if raw is None:
        return stream  # already text of our own making (tests, an in-memory stream)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="\n")


class SingerInput(SingerReader):
    """The SDK's line reader, with every malformed line turned into a `BadInput` naming it."""

    line_number = 0
    #: Called before a `BadInput` ends the run (the target writes its summary there).
    on_stop: Callable[[], None] | None = None

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        try:
            return self._read(file_input, callbacks)
        except BadInput:
            if self.on_stop is not None:
                self.on_stop()
            raise

    def _read(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        stats: Counter[str] = Counter()
        for line in utf8_input(file_input or sys.stdin):
            self.line_number += 1
            if not line.strip():
                continue  # a blank line carries no message
            message = self.deserialize_json(line)
            kind = self.check_shape(message)
            callbacks[kind](message)
            stats[kind] += 1
        return stats

    def check_shape(self, message: dict) -> str:
        """The type of a message this target reads, holding what that type needs."""
        kind = message.get("type")
        if kind == "BATCH":
            # A BATCH names files to read: the target reads no file its settings do not name.
            raise self.bad("BATCH messages are not read by target-exactonline; send RECORDs")
        if kind not in SHAPES:
            raise self.bad(f"unknown message type {kind!r}" if kind else "no message type")
        for key, expected in SHAPES[kind].items():
            if key not in message:
                raise self.bad(f"a {kind} message needs {key!r}")
            value = message[key]
            if expected is not None and (
                not isinstance(value, expected) or isinstance(value, bool)
            ):
                raise self.bad(f"the {key!r} of a {kind} message must be {_JSON_NAMES[expected]}")
        keys = message.get("key_properties") or []
        if kind == "SCHEMA" and not (
            isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        ):
            raise self.bad("the 'key_properties' of a SCHEMA message must be a list of names")
        return str(kind)

    def assert_line_requires(self, line_dict: dict, requires: set[str]) -> None:  # type: ignore[override]
        """The SDK's own checks of a message, as a `BadInput` naming the line."""
        missing = sorted(requires - set(line_dict))
        if missing:
            raise self.bad(f"{', '.join(map(repr, missing))} missing")

    def deserialize_json(self, line: str) -> dict:
        try:
            message = deserialize_json(line)
        except json.JSONDecodeError as exc:
            raise self.bad(f"not JSON ({exc})") from None
        except RecursionError:
            raise self.bad(f"JSON nested deeper than {MAX_DEPTH} levels") from None
        if not isinstance(message, dict):
            raise self.bad(f"a JSON {type(message).__name__}, not a message object")
        if depth_of(message) > MAX_DEPTH:
            raise self.bad(f"JSON nested deeper than {MAX_DEPTH} levels")
        return message

    def bad(self, why: str) -> BadInput:
        return BadInput(f"input line {self.line_number} is no Singer message: {why}")
