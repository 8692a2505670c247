"""(12) How fast the sandbox generates its rows, and how much memory that takes.

Each measurement runs in a fresh process (peak RSS is per process):

* finance: one division (`Company(seed=1, scale=S, divisions=1)`), then the first read of its
  transaction lines: the whole ledger and every row it rests on (accounts, items, sales
  invoices and their lines, the entries and their lines, payment terms, the books' master data)
  are generated and the transaction lines stored. Then the other finance tables are stored
  (entries, entry lines, payment terms, reporting balances...).
* generic: a million rows of one catalogue table (`Address`), generated and stored as a first
  read does (benchmarks/generic_rows.py times several tables one by one).

CPU seconds of the measuring process (user + system: other load on the machine inflates them
far less than wall time), each including one full garbage collection at its end, so a collection
the generation only put off is counted. Peak RSS is the process's high-water mark.

With `BENCH_BASELINE_TREE=/path/to/checkout` set, the same measurements also run against that
source tree (e.g. `git worktree add /tmp/genold main`), side by side in the same run.

    .venv/bin/python -m benchmarks.run --only generation
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERIC_TABLE = "Address"
BASELINE_ENV = "BENCH_BASELINE_TREE"

#: Runs in a fresh interpreter with the measured source tree first on sys.path; uses only what
#: the sandbox had before this benchmark existed, so an older checkout can be measured too.
_WORKER = r"""
import gc, json, random, resource, sys, time

from exactonline_sandbox import data, generic_rows
from exactonline_sandbox.resources import GENERIC_TABLES
from exactonline_sandbox.store import Company
from exactonline_sandbox.table import Table

try:
    from exactonline_sandbox.collector import full_collections_held as paused
except ImportError:
    from contextlib import nullcontext as paused


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


kind, size = sys.argv[1], float(sys.argv[2])
start_rss = rss_mb()
out = {}
if kind == "finance":
    company = Company(seed=1, scale=size, divisions=1)
    div = company._divisions[company.division_codes[0]]
    t0 = time.process_time()
    lines = len(div.tables["transactionlines"])
    gc.collect()
    t1 = time.process_time()
    generated = sum(len(rows) for rows in div.seed.out.tables.values())
    other = [t for t in data.FINANCE_KEYS if t != "transactionlines"]
    other_rows = sum(len(div.tables[t]) for t in other)
    gc.collect()
    t2 = time.process_time()
    out = {
        "transaction_lines": lines, "rows_generated": generated, "cpu_seconds": t1 - t0,
        "other_tables": len(other), "other_rows": other_rows, "other_cpu_seconds": t2 - t1,
    }
else:
    company = Company(seed=1, scale=1, divisions=1)
    div = company._divisions[company.division_codes[0]]
    spec = GENERIC_TABLES[sys.argv[3]]
    rows = int(size)
    tables, user = div.tables, div.seed.user
    warm = generic_rows.RowContext(spec, div.code, random.Random(spec.name), 10, user, tables)
    generic_rows.generate(warm, 1)  # the tables it refers to are generated here, not below
    start_rss = rss_mb()
    ctx = generic_rows.RowContext(spec, div.code, random.Random(spec.name), rows, user, tables)
    t0 = time.process_time()
    with paused():
        keys, records = generic_rows.generate(ctx, 1)
        Table(spec.key).load_records(keys, records, 1)
    gc.collect()
    out = {"rows": len(records), "fields": len(spec.fields), "cpu_seconds": time.process_time() - t0}
out["start_rss_mb"] = start_rss
out["peak_rss_mb"] = rss_mb()
print(json.dumps(out))
"""


def measure(tree: Path, kind: str, size: float) -> dict[str, Any]:
    """One measurement in a fresh interpreter running the sandbox of source tree `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "-c", _WORKER, kind, repr(size), GENERIC_TABLE]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"generation benchmark ({kind}) failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    for key, value in result.items():
        if isinstance(value, float):
            result[key] = round(value, 2)
    return result


def _commit(tree: Path) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    )
    return proc.stdout.strip() or None


def run_generation(scale: float, generic_rows: int) -> dict[str, Any]:
    """Section 12: the finance and generic measurements of this tree (and of the baseline tree
    named by BENCH_BASELINE_TREE, when set)."""
    trees = {"this": ROOT}
    baseline = os.environ.get(BASELINE_ENV)
    if baseline:
        trees["baseline"] = Path(baseline).resolve()
    runs = {}
    for name, tree in trees.items():
        runs[name] = {
            "commit": _commit(tree),
            "finance": measure(tree, "finance", scale),
            "generic": measure(tree, "generic", generic_rows),
        }
    return {"scale": scale, "generic_table": GENERIC_TABLE, "runs": runs}


def render_generation(g: dict[str, Any]) -> list[str]:
    """Section 12 of RESULTS.md."""
    names = {"this": "this commit", "baseline": "baseline"}
    lines = [
        "",
        "## 12. Sandbox generation",
        "",
        f"CPU seconds (user + system, one full garbage collection included) and peak RSS of a "
        f"fresh process. Finance: one division at scale {g['scale']:g}, the first read of its "
        "transaction lines (the ledger and every row it rests on: accounts, items, sales "
        "invoices, entries, payment terms, master data), then the other finance tables. "
        f"Generic: {g['runs']['this']['generic']['rows']:,} rows of one catalogue table "
        f"(`{g['generic_table']}`, {g['runs']['this']['generic']['fields']} fields) generated and "
        "stored. Peak RSS includes what the process held at its start (in brackets).",
        "",
        "| code | transaction lines | rows generated | CPU s | other finance rows | CPU s | "
        "peak RSS MB (start) | generic rows | CPU s | peak RSS MB (start) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, run in g["runs"].items():
        f, c = run["finance"], run["generic"]
        lines.append(
            f"| {names.get(name, name)} ({run.get('commit') or '?'}) | "
            f"{f['transaction_lines']:,} | {f['rows_generated']:,} | **{f['cpu_seconds']:.1f}** | "
            f"{f['other_rows']:,} | {f['other_cpu_seconds']:.1f} | "
            f"{f['peak_rss_mb']:,.0f} ({f['start_rss_mb']:,.0f}) | {c['rows']:,} | "
            f"**{c['cpu_seconds']:.1f}** | {c['peak_rss_mb']:,.0f} ({c['start_rss_mb']:,.0f}) |"
        )
    return lines
