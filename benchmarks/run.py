"""`make bench`: every benchmark in one run, written to benchmarks/RESULTS.md with a plot.

    python -m benchmarks.run [--profile full|smoke] [--out DIR] [--only NAME ...]

`full` is the run whose RESULTS.md is committed (at least 100,000 rows, 20+ windows, under ten
minutes on two cores); `smoke` runs the same code at a tiny scale in seconds, for the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import machine
from benchmarks.breadth import run_breadth
from benchmarks.budget import Compression, run_budget
from benchmarks.extraction import run_extraction, stream_endpoints
from benchmarks.generation import run_generation
from benchmarks.parallel import run_latency, run_parallel, run_sizes
from benchmarks.plot import budget_plot
from benchmarks.report import render
from benchmarks.shared_store import run_shared_store
from benchmarks.state_size import run_state_size
from benchmarks.tap_profile import run_tap_profile
from benchmarks.target_cost import run_target_cost
from benchmarks.tokens import run_tokens
from benchmarks.walltime import estimate
from exactonline_sandbox.harness import UNTHROTTLED

HERE = Path(__file__).resolve().parent
PLOT_NAME = "budget.png"
SECTIONS = (
    "latency",
    "sizes",
    "parallel",
    "extraction",
    "budget",
    "target_cost",
    "tokens",
    "sandbox_throughput",
    "tap_profile",
    "shared_store",
    "state_size",
    "breadth",
    "generation",
)


@dataclass(frozen=True)
class Profile:
    """The sizes of one benchmark run."""

    name: str
    extraction_scale: float
    change_share: float
    compression: Compression
    budget_tap_scale: float
    budget_both_scale: float
    budget_customers: int
    target_scale: float
    target_customers: int
    target_invoices: int
    token_hour_seconds: float
    throughput_scale: float
    profile_scale: float
    latency_ms: int
    latency_divisions: int
    latency_scale: float
    incremental_divisions: int
    incremental_scale: float
    memory_divisions: int
    memory_scale: float
    start_date_scale: float
    sizes_scale: float
    state_scale: float
    sizes_repeats: int = 3
    shared_store_lifetime: float = 6.0
    shared_store_lifetimes: int = 6
    breadth_scale: float = 0.5
    """Generic catalogue tables hold 100 rows per unit of scale; above 0.6 the sandbox pages
    general/Currencies (keyed by Code) with a GUID skiptoken it then refuses."""
    generation_scale: float = 123.0  # about a million transaction lines in one division
    generation_generic_rows: int = 1_000_000
    latency_minutely_limit: int | None = None
    """The sandbox's minutely limit in the latency and incremental runs (None: Exact's 60)."""


PROFILES = {
    "full": Profile(
        name="full",
        extraction_scale=10.0,
        change_share=0.01,
        compression=Compression(minute_seconds=5.0, minutely_limit=12),
        budget_tap_scale=22.0,
        budget_both_scale=10.0,
        budget_customers=200,
        target_scale=1.0,
        target_customers=300,
        target_invoices=100,
        token_hour_seconds=60.0,
        throughput_scale=10.0,
        profile_scale=3.0,
        latency_ms=300,
        latency_divisions=12,
        latency_scale=0.05,
        incremental_divisions=100,
        incremental_scale=0.01,
        memory_divisions=4,
        memory_scale=12.0,
        start_date_scale=10.0,
        sizes_scale=2.0,
        state_scale=10.0,
    ),
    "smoke": Profile(
        name="smoke",
        extraction_scale=0.1,
        change_share=0.01,
        compression=Compression(minute_seconds=1.0, minutely_limit=8),
        budget_tap_scale=0.3,
        budget_both_scale=0.2,
        budget_customers=8,
        target_scale=0.05,
        target_customers=25,
        target_invoices=22,
        token_hour_seconds=6.0,
        throughput_scale=0.05,
        profile_scale=0.05,
        latency_ms=30,
        latency_divisions=3,
        latency_scale=0.05,
        incremental_divisions=4,
        incremental_scale=0.01,
        memory_divisions=2,
        memory_scale=0.05,
        start_date_scale=0.2,
        sizes_scale=0.1,
        sizes_repeats=1,
        shared_store_lifetime=2.0,
        shared_store_lifetimes=3,
        state_scale=0.1,
        breadth_scale=0.05,
        latency_minutely_limit=UNTHROTTLED,
        generation_scale=0.05,
        generation_generic_rows=2000,
    ),
}


def run_section(name: str, profile: Profile, workdir: Path) -> dict[str, Any]:
    """One benchmark section by name (each starts and stops its own sandbox)."""
    p = profile
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "extraction": lambda: run_extraction(
            workdir, scale=p.extraction_scale, change_share=p.change_share
        ),
        "budget": lambda: run_budget(
            workdir,
            comp=p.compression,
            tap_scale=p.budget_tap_scale,
            both_scale=p.budget_both_scale,
            customers=p.budget_customers,
        ),
        "target_cost": lambda: run_target_cost(
            workdir,
            scale=p.target_scale,
            customers=p.target_customers,
            invoices=p.target_invoices,
        ),
        "tokens": lambda: run_tokens(workdir, hour_seconds=p.token_hour_seconds),
        "sandbox_throughput": lambda: _sandbox_throughput(p.throughput_scale),
        "tap_profile": lambda: run_tap_profile(workdir, scale=p.profile_scale),
        "shared_store": lambda: run_shared_store(
            workdir,
            lifetime=p.shared_store_lifetime,
            lifetimes=p.shared_store_lifetimes,
            minute_seconds=p.compression.minute_seconds,
            minutely_limit=p.compression.minutely_limit,
        ),
        "state_size": lambda: run_state_size(workdir, scale=p.state_scale),
        "breadth": lambda: run_breadth(workdir, scale=p.breadth_scale),
        "generation": lambda: run_generation(p.generation_scale, p.generation_generic_rows),
        "latency": lambda: run_latency(
            workdir,
            divisions=p.latency_divisions,
            scale=p.latency_scale,
            latency_ms=p.latency_ms,
            minutely_limit=p.latency_minutely_limit,
        ),
        "parallel": lambda: run_parallel(
            workdir,
            latency_ms=p.latency_ms,
            incremental_divisions=p.incremental_divisions,
            incremental_scale=p.incremental_scale,
            memory_divisions=p.memory_divisions,
            memory_scale=p.memory_scale,
            start_date_scale=p.start_date_scale,
            latency_minutely_limit=p.latency_minutely_limit,
        ),
        "sizes": lambda: run_sizes(
            workdir,
            scale=p.sizes_scale,
            minute_seconds=p.compression.minute_seconds,
            minutely_limit=p.compression.minutely_limit,
            repeats=p.sizes_repeats,
        ),
    }
    return runners[name]()


def _sandbox_throughput(scale: float) -> dict[str, Any]:
    """The sandbox helper's own benchmark (benchmarks/sandbox_throughput.py), one pass."""
    from benchmarks.sandbox_throughput import run

    return run(scale, 1)


def walltime(results: dict[str, Any]) -> dict[str, Any] | None:
    """Section 4, computed from sections 1 and 3 (None when either did not run)."""
    ext, bud = results.get("extraction"), results.get("budget")
    if not ext or not bud:
        return None
    full = ext["full"]
    return estimate(
        endpoints=list(stream_endpoints()),
        over_minimum=full["over_minimum"],
        budget_share=bud["tap_alone"]["share"],
        records_per_second=full["records_emitted"] / full["wall_seconds"],
        records_per_row=full["records_emitted"] / full["rows"],
    )


def run_all(profile: Profile, out: Path, only: tuple[str, ...] = SECTIONS) -> dict[str, Any]:
    """Run the sections, write results.json, the plot and RESULTS.md into `out`."""
    started = time.perf_counter()
    results = _earlier_results(out, profile, only)
    results["machine"] = machine.describe()
    with tempfile.TemporaryDirectory(prefix="exactonline-bench-") as tmp:
        for name in only:
            t0 = time.perf_counter()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            load_before = machine.load_average()
            results[name] = run_section(name, profile, Path(tmp))
            results.setdefault("load_average", {})[name] = {
                "start": load_before,
                "end": machine.load_average(),
            }
            results.setdefault("measured", {})[name] = {
                "date": machine.describe()["date"],
                "commit": results["machine"]["commit"],
                "seconds": round(time.perf_counter() - t0),
            }
            print(f"[bench] {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    results["walltime"] = walltime(results)
    results["seconds"] = time.perf_counter() - started
    results["machine"]["load_average_at_end"] = machine.load_average()
    write_outputs(results, out)
    return results


def _earlier_results(out: Path, profile: Profile, only: tuple[str, ...]) -> dict[str, Any]:
    """The sections of the last run of the same profile that this run does not measure again:
    `--only` refreshes some sections and keeps the others, each with when and where it ran."""
    fresh: dict[str, Any] = {"profile": profile.name}
    path = out / "results.json"
    if set(only) == set(SECTIONS) or not path.exists():
        return fresh
    earlier = json.loads(path.read_text(encoding="utf-8"))
    if earlier.get("profile") != profile.name:
        return fresh
    kept = {k: v for k, v in earlier.items() if k not in only and k not in ("walltime", "seconds")}
    before = earlier.get("machine", {})
    measured = kept.setdefault("measured", {})
    for name in SECTIONS:
        if name in kept and name not in measured:
            measured[name] = {"date": before.get("date"), "commit": before.get("commit")}
    return kept


def write_outputs(results: dict[str, Any], out: Path) -> None:
    """results.json, the plot and RESULTS.md from one run's results."""
    out.mkdir(parents=True, exist_ok=True)
    plot_name = None
    if results.get("budget"):
        budget_plot(results["budget"], out / PLOT_NAME)
        plot_name = PLOT_NAME
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "RESULTS.md").write_text(render(results, plot_name), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--out", type=Path, default=HERE, help="where RESULTS.md etc. go")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite RESULTS.md and the plot from OUT/results.json without measuring again",
    )
    args = parser.parse_args(argv)
    if args.render_only:
        write_outputs(json.loads((args.out / "results.json").read_text(encoding="utf-8")), args.out)
        return 0
    results = run_all(PROFILES[args.profile], args.out, tuple(args.only))
    print(f"[bench] wrote {args.out / 'RESULTS.md'} in {results['seconds']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
