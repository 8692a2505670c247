"""Token calls per hour of continuous running: one refresh per token lifetime, no more.

An hour is compressed into `hour_seconds` (the sandbox's minute is `hour_seconds / 60`, the
token lifetime and refresh window shrink by the same factor: 10 minutes and 30 seconds real).
Tap and target runs follow each other back to back for that long, as a scheduler running both
constantly would, with one app and one token store: every process must reuse the stored access
token and only the one that meets its refresh window refreshes it. The sandbox counts the
token calls (and refusals) itself.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from benchmarks.budget import REAL_MINUTE, REAL_REFRESH_WINDOW, REAL_TOKEN_MINUTES
from benchmarks.connector import Grant, run_tap, run_target
from benchmarks.singer_input import customer_messages
from exactonline_sandbox.harness import Sandbox


def run_tokens(workdir: Path, *, hour_seconds: float, seed: int = 4) -> dict[str, Any]:
    minute = hour_seconds / 60
    factor = minute / REAL_MINUTE
    lifetime = REAL_TOKEN_MINUTES * minute
    flags = {
        "minute_seconds": minute,
        "day_seconds": minute * 1440,
        "token_lifetime": lifetime,
        "refresh_window": REAL_REFRESH_WINDOW * factor,
        "access_log": False,
    }
    with Sandbox(seed=seed, scale=0.05, divisions=1, **flags) as sb:
        grant = Grant.create(sb, workdir, "tokens")
        tap_config = grant.config(divisions=[grant.division])
        target_config = grant.config(
            division=grant.division,
            reject_file=str(workdir / "tokens-rejects.jsonl"),
        )
        messages = customer_messages("TK", 20)
        sb.reset_stats()
        started = time.monotonic()
        state: dict[str, Any] | None = None
        runs = {"tap": 0, "target": 0}
        while time.monotonic() - started < hour_seconds:
            _, output = run_tap(workdir, "tokens-tap", tap_config, state=state)
            state = output.state or state
            runs["tap"] += 1
            if time.monotonic() - started >= hour_seconds:
                break
            run_target(workdir, "tokens-target", target_config, messages)
            runs["target"] += 1
        elapsed = time.monotonic() - started
        stats = sb.stats()
    token_calls = int(stats["token_calls"])
    lifetimes = elapsed / lifetime
    return {
        "hour_seconds": hour_seconds,
        "elapsed_seconds": elapsed,
        "compressed_minutes": elapsed / minute,
        "token_lifetime_seconds": lifetime,
        "runs": runs,
        "api_calls": int(stats["api_calls"]),
        "status_401": int(stats["by_status"].get("401", 0)),
        "token_calls": token_calls,
        "token_errors": stats["token_errors"],
        "lifetimes": lifetimes,
        "allowed": math.ceil(lifetimes),
        "per_real_hour": token_calls * 3600 / (elapsed / factor),
    }
