"""Four workers, one grant in PostgreSQL: token calls per token lifetime and 429s.

Four worker processes, each with a HOME of its own (so nothing but the database is shared), call
the sandbox as fast as the shared throttle lets them for several token lifetimes: two on each of
two divisions, against a tight minutely limit. The sandbox counts the token calls, refusals and
429 answers itself. Goal: one refresh per token lifetime, 0 x 429.

    python -m benchmarks.shared_store worker '<json spec>'   # one worker (used by run_shared_store)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Say `ready`, read the end time (epoch seconds) from stdin, then call the API until then
    through a client on the shared store (slow starts on a loaded machine do not eat the run)."""
    from exactonline_api.client import ExactClient
    from exactonline_api.errors import ExactError
    from exactonline_api.settings import ClientSettings

    errors: list[str] = []
    last = None
    with ExactClient(ClientSettings.from_config(spec["config"])) as client:
        print("ready", flush=True)
        until = float(sys.stdin.readline())
        while time.time() < until:
            try:
                client.get(spec["division"], "crm/Accounts", {"$select": "ID", "$top": 1})
                last = time.time()
            except ExactError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                break
        return {
            "last": last,
            "calls": client.stats.calls,
            "refreshes": client.tokens.refreshes,
            "rate_limited": client.stats.rate_limited,
            "waits": client.throttle.waits,
            "errors": errors,
        }


def run_shared_store(
    workdir: Path, *, lifetime: float, lifetimes: int, minute_seconds: float, minutely_limit: int
) -> dict[str, Any]:
    from tests.support.postgres import PostgresServer  # the tests' throwaway server

    flags = {
        "token_lifetime": lifetime,
        "refresh_window": max(lifetime / 20, 0.2),  # Exact: 30 s of 600
        "minute_seconds": minute_seconds,
        "minutely_limit": minutely_limit,
        "daily_limit": 1_000_000,
        "access_log": False,
    }
    with (
        PostgresServer(database="tokens", user="grants") as pg,
        Sandbox(seed=3, scale=0.02, divisions=2, **flags) as sb,
    ):
        grant = sb.grant()
        divisions = [int(d) for d in grant["divisions"][:2]]
        config = {
            "client_id": grant["client_id"],
            "client_secret": grant["client_secret"],
            "refresh_token": grant["refresh_token"],
            "base_url": sb.url,
            "token_store_url": pg.url,
        }
        procs = []
        for n in range(WORKERS):
            home = workdir / f"shared-store-worker-{n}"
            home.mkdir(parents=True, exist_ok=True)
            spec = {"config": config, "division": divisions[n % 2]}
            env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.shared_store", "worker", json.dumps(spec)],
                    cwd=ROOT,
                    env={**env, "HOME": str(home)},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a worker did not start: {proc.communicate()[1][-2000:]}")
        sb.reset_stats()
        started = time.time()
        until = started + lifetimes * lifetime
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{until}\n")
            proc.stdin.flush()
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=lifetimes * lifetime + 120)
            if proc.returncode != 0:
                raise RuntimeError(f"a worker failed: {err[-2000:]}")
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
        # from the go to the last answer any worker got: the span the grant had to cover
        elapsed = max((o["last"] or started for o in outcomes), default=started) - started
        stats = sb.stats()
    windows = [w for w in stats["windows"] if w.get("client_id") == grant["client_id"]]
    spent = [w for w in windows if w["calls"] >= w["limit"]]
    token_calls = int(stats["token_calls"])
    return {
        "workers": WORKERS,
        "token_lifetime_seconds": lifetime,
        "elapsed_seconds": elapsed,
        "lifetimes": elapsed / lifetime,
        "allowed": math.ceil(elapsed / lifetime),
        "minute_seconds": minute_seconds,
        "minutely_limit": minutely_limit,
        "api_calls": int(stats["api_calls"]),
        "status_429": int(stats["by_status"].get("429", 0)),
        "token_calls": token_calls,
        "token_errors": stats["token_errors"],
        "windows": len(windows),
        "windows_spent": len(spent),
        "max_calls_in_a_window": max((w["calls"] for w in windows), default=0),
        "worker_calls": [o["calls"] for o in outcomes],
        "worker_refreshes": [o["refreshes"] for o in outcomes],
        "worker_errors": sum(len(o["errors"]) for o in outcomes),
    }


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"]:
        raise SystemExit(__doc__)
    print(json.dumps(worker(json.loads(sys.argv[2]))), flush=True)
