"""Which tap stream was running when: read from the tap's own log, to explain a window that
used less of the budget than it could (e.g. a stream replaying spooled rows makes no calls).

singer-sdk logs `<asctime> | INFO | tap-exactonline.<stream> | Beginning sync of '<stream>'`
with the local wall clock, which `datetime.timestamp()` reads back as epoch seconds.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

_BEGIN = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \| \w+\s*\| [^|]+\| Beginning sync of '([^']+)'",
    re.MULTILINE,
)


def stream_starts(stderr_path: Path) -> list[tuple[float, str]]:
    """(epoch seconds, stream) for each stream the tap began, in order."""
    text = stderr_path.read_text(encoding="utf-8", errors="replace")
    return [
        (datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp(), stream)
        for stamp, stream in _BEGIN.findall(text)
    ]


def streams_in_window(starts: list[tuple[float, str]], lo: float, hi: float) -> list[str]:
    """The streams running at some moment of [lo, hi): the one running at lo and any begun
    before hi."""
    active: list[str] = []
    for i, (start, stream) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else float("inf")
        if start < hi and end > lo:
            active.append(stream)
    return active


def low_windows(
    calls: list[int],
    first_start_ms: int,
    window_ms: int,
    limit: int,
    starts: list[tuple[float, str]],
    below: float = 0.9,
) -> list[dict[str, object]]:
    """Full windows under `below` of the limit, with the streams that ran in each."""
    out: list[dict[str, object]] = []
    for i in range(1, len(calls) - 1):
        if calls[i] >= below * limit:
            continue
        lo = (first_start_ms + i * window_ms) / 1000
        out.append(
            {
                "window": i + 1,
                "calls": calls[i],
                "streams": streams_in_window(starts, lo, lo + window_ms / 1000),
            }
        )
    return out
