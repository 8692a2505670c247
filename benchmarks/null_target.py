"""A null Singer target: reads the tap's stdout, counts records per stream, keeps the last STATE.

It stands for a destination that costs nothing, so a tap measurement is the tap's own speed.
RECORD lines are not parsed as JSON (only their stream name is read from the line's start), so
this process stays cheap next to the tap; every other message is parsed.

    python -m benchmarks.null_target COUNTS.json < singer-messages
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

_RECORD = re.compile(rb'^\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"]+)"')


def consume(stream: BinaryIO) -> dict[str, Any]:
    """Count records per stream and return them with the last STATE value."""
    records: Counter[str] = Counter()
    state: Any = None
    messages = 0
    for line in stream:
        messages += 1
        match = _RECORD.match(line)
        if match is not None:
            records[match.group(1).decode()] += 1
            continue
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("type") == "RECORD":  # a key order the pattern did not expect
            records[message["stream"]] += 1
        elif message.get("type") == "STATE":
            state = message.get("value")
    return {"records": dict(records), "state": state, "messages": messages}


def main() -> None:
    result = consume(sys.stdin.buffer)
    Path(sys.argv[1]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
