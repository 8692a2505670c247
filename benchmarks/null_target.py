"""A null Singer target: reads the tap's stdout, counts records per stream, keeps the last STATE.

It stands for a destination that costs nothing, so a tap measurement is the tap's own speed.
RECORD lines are not parsed as JSON (only their stream name is read from the line's start), so
this process stays cheap next to the tap; every other message is parsed.

It also notes when RECORD lines arrive (`time.perf_counter`, CLOCK_MONOTONIC on Linux, so
comparable with the parent's clock): the read that brought the first RECORD line, how many
records that read held, and the last read that brought any. Tap speed is a throughput: the
records after the first read over the time from it to the last one leave out the tap's fixed
start-up (interpreter, imports, discovery, first call), which a rows-per-second goal is not about.

    python -m benchmarks.null_target COUNTS.json < singer-messages
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

_RECORD = re.compile(rb'^\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"]+)"')
READ_BYTES = 1 << 20


def consume(stream: BinaryIO) -> dict[str, Any]:
    """Count records per stream; return them with the last STATE value and RECORD timings."""
    records: Counter[bytes] = Counter()
    state: Any = None
    messages = 0
    total = 0
    first_at: float | None = None
    last_at: float | None = None
    first_read_records = 0
    rest = b""
    while True:
        chunk = stream.read1(READ_BYTES)
        at = time.perf_counter()
        lines = (rest + chunk).split(b"\n") if chunk else [rest]
        rest = lines.pop() if chunk else b""
        before = total
        match = _RECORD.match
        names = [m.group(1) for m in map(match, lines) if m is not None]
        records.update(names)
        total += len(names)
        messages += len(names)
        if len(names) < len(lines):  # other messages (or blank lines) in this read
            for line in lines:
                if match(line) is not None or not line.strip():
                    continue
                messages += 1
                message = json.loads(line)
                if message.get("type") == "RECORD":  # a key order the pattern did not expect
                    records[message["stream"].encode()] += 1
                    total += 1
                elif message.get("type") == "STATE":
                    state = message.get("value")
        if total > before:
            if first_at is None:
                first_at, first_read_records = at, total - before
            last_at = at
        if not chunk:
            break
    return {
        "records": {name.decode(): n for name, n in records.items()},
        "state": state,
        "messages": messages,
        "first_record_at": first_at,
        "last_record_at": last_at,
        "first_read_records": first_read_records,
    }


def main() -> None:
    result = consume(sys.stdin.buffer)
    Path(sys.argv[1]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
