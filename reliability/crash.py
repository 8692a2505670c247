"""Crash and resume: the tap SIGKILLed at random points, rerun from the last STATE it emitted.

For each seed a chain of runs is killed after a random number of output lines (what Meltano had
read), each resuming from the last STATE message read before the kill; the last run completes.
The union of everything the chain emitted must equal a clean sync: no key missing, no content
different (a row re-read after a resume simply replaces its copy, as in an upserting target).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.compare import difference, keyed
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import Workspace


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Crash and resume (tap)",
        f"SIGKILL of tap-exactonline after a random number of output lines, {size.kills} times "
        "per seed, each rerun from the last STATE it emitted",
    )
    with Sandbox(scale=size.scale, divisions=1, access_log=False) as sb:
        ws = Workspace(sb, root)
        try:
            grant = ws.grant()
            division = grant["divisions"][0]
            clean = ws.run_tap(ws.config(grant, root / "clean-tokens.json", divisions=[division]))
            result.runs += 1
            result.check(clean.returncode == 0, f"clean run exit {clean.returncode}")
            want, _ = keyed(clean.records())
            lines = len(clean.messages)
            result.figures["rows per sync"] = len(want)
            kills = 0
            for seed in size.seeds:
                rng = random.Random(seed)
                grant = ws.grant()
                config = ws.config(grant, root / f"crash-{seed}-tokens.json", divisions=[division])
                emitted: list[tuple[str, dict[str, Any]]] = []
                state: dict[str, Any] | None = None
                for _ in range(size.kills):
                    out = ws.run_tap(config, state=state, kill_after=rng.randint(1, lines - 1))
                    result.runs += 1
                    kills += out.killed
                    emitted += out.records()
                    state = out.state or state
                final = ws.run_tap(config, state=state)
                result.runs += 1
                result.check(
                    final.returncode == 0, f"seed {seed}: final run exit {final.returncode}"
                )
                emitted += final.records()
                got, _ = keyed(emitted)
                diff = difference(want, got)
                result.checked += len(want)
                result.lost += diff.missing + diff.changed
                result.duplicated += diff.extra
                result.problems += [f"seed {seed}: {e}" for e in diff.examples]
                # resumed, not restarted: the final run must not re-read everything
                result.check(
                    len(final.records()) < len(clean.records()),
                    f"seed {seed}: the final run re-read the whole sync",
                )
            result.figures["SIGKILLs"] = kills
            result.check(kills > 0, "the tap was killed at least once")
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
