"""`python -m reliability.run [--full] [--only NAME ...] [--out docs/reliability.md]`.

Runs the scenarios (two at a time: each starts its own sandbox), prints one line per scenario and
writes the report. Exit status 1 if any scenario lost, duplicated or leaked anything.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reliability.report import render
from reliability.result import ScenarioResult
from reliability.scenarios import SCENARIOS
from reliability.size import FULL, SHORT, Size

ROOT = Path(__file__).resolve().parents[1]


def run_one(name: str, size: Size, workdir: Path) -> ScenarioResult:
    started = time.monotonic()
    try:
        result = SCENARIOS[name](size, workdir / name)
    except Exception as exc:  # a crash of the harness is a failed scenario, not a lost report
        result = ScenarioResult(name, "(scenario crashed)")
        result.problems.append(f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    result.figures.setdefault("scenario seconds", round(time.monotonic() - started))
    verdict = "ok" if result.ok else "FAILED"
    print(
        f"{name}: {verdict} runs={result.runs} checked={result.checked} lost={result.lost} "
        f"duplicated={result.duplicated} secret_hits={result.secret_hits} "
        f"problems={result.problems[:3]}",
        flush=True,
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.run", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the long form (default: short)")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    size = FULL if args.full else SHORT
    names = args.only or list(SCENARIOS)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="reliability-") as tmp,
        ThreadPoolExecutor(max_workers=args.workers) as pool,
    ):
        results = list(pool.map(lambda n: run_one(n, size, Path(tmp)), names))
    seconds = time.monotonic() - started
    args.out.write_text(render(results, size, seconds), encoding="utf-8")
    print(f"wrote {args.out} ({seconds:.0f} s)")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
