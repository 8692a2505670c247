"""Extraction under faults: 5xx, dropped connections, latency spikes and 429 bursts.

A fault-free sync is the reference; the same sync through each seeded fault plan must emit the
same records, row for row by key and content, and no row twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.compare import difference, keyed
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import Workspace


def fault_plan(seed: int) -> dict[str, Any]:
    """5% 500/503, 2% drops, 1% single 429s, 5% latency spikes, and a burst of three 429s first."""
    return {
        "rate": {"500": 0.03, "503": 0.02, "drop": 0.02, "429": 0.01, "latency": 0.05},
        "latency_ms": 250,
        "next": ["429", "429", "429"],
        "seed": seed,
    }


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Extraction under faults",
        "per call: 3% 500, 2% 503, 2% dropped connection, 1% 429, 5% +250 ms latency; "
        "a burst of three 429s at the start (one fault draw per seed)",
    )
    # error_limit raised: the injected errors would otherwise trip Exact's hourly error limit,
    # which is its own (tested) behaviour, not the subject here
    flags = {"minute_seconds": 2, "error_limit": 100000, "access_log": False}
    with Sandbox(scale=size.scale, divisions=1, **flags) as sb:
        ws = Workspace(sb, root)
        try:
            clean_grant = ws.grant()
            division = clean_grant["divisions"][0]
            clean = ws.run_tap(
                ws.config(clean_grant, root / "clean-tokens.json", divisions=[division])
            )
            result.runs += 1
            result.check(clean.returncode == 0, f"clean run exit {clean.returncode}")
            want, clean_repeats = keyed(clean.records())
            result.figures["rows per sync"] = len(want)
            injected = {"5xx": 0, "429": 0, "calls": 0}
            for seed in size.seeds:
                grant = ws.grant()
                store = root / f"faults-{seed}-tokens.json"
                before = sb.stats()
                sb.faults(fault_plan(seed))
                try:
                    out = ws.run_tap(ws.config(grant, store, divisions=[division]))
                finally:
                    sb.clear_faults()
                after = sb.stats()
                result.runs += 1
                for code, kind in (("500", "5xx"), ("503", "5xx"), ("429", "429")):
                    injected[kind] += after["by_status"].get(code, 0) - before["by_status"].get(
                        code, 0
                    )
                injected["calls"] += after["api_calls"] - before["api_calls"]
                result.check(out.returncode == 0, f"seed {seed}: exit {out.returncode}")
                got, repeats = keyed(out.records())
                diff = difference(want, got)
                result.checked += len(want)
                result.lost += diff.missing + diff.changed
                result.duplicated += diff.extra + max(0, repeats - clean_repeats)
                result.problems += [f"seed {seed}: {e}" for e in diff.examples]
            result.check(injected["5xx"] > 0 and injected["429"] >= 3, "faults were injected")
            result.figures.update(
                {
                    "API calls": injected["calls"],
                    "5xx answered": injected["5xx"],
                    "429 answered": injected["429"],
                }
            )
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
