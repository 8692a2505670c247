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
READ_BYTES = 1 << 20


def consume(stream: BinaryIO) -> dict[str, Any]:
    """Count records per stream; return them with the last STATE value."""
    records: Counter[bytes] = Counter()
    state: Any = None
    messages = 0
    rest = b""
    while True:
        chunk = stream.read1(READ_BYTES)
        lines = (rest + chunk).split(b"\n") if chunk else [rest]
        rest = lines.pop() if chunk else b""
        match = _RECORD.match
        names = [m.group(1) for m in map(match, lines) if m is not None]
        records.update(names)
        messages += len(names)
        if len(names) < len(lines):  # other messages (or blank lines) in this read
            for line in lines:
                if match(line) is not None or not line.strip():
                    continue
                messages += 1
                message = json.loads(line)
                if message.get("type") == "RECORD":  # a key order the pattern did not expect
                    records[message["stream"].encode()] += 1
                elif message.get("type") == "STATE":
                    state = message.get("value")
        if not chunk:
            break
    return {
        "records": {name.decode(): n for name, n in records.items()},
        "state": state,
        "messages": messages,
    }


def main() -> None:
    result = consume(sys.stdin.buffer)
    Path(sys.argv[1]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
