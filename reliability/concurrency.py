"""Concurrency: a tap and a target on one division and a second tap on another, all at once,
sharing one grant and one token store across several token lifetimes.

Exact rotates the refresh token on every refresh and refuses a refresh before the access token's
last `refresh_window` seconds; the sandbox is started with a 2 s token lifetime, a 1 s refresh
window and a small minutely limit so the shared token manager and the shared throttle do real
work. The lanes keep running rounds until the sandbox has issued tokens for the required number
of lifetimes (a count, not a timing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.compare import difference, keyed
from reliability.result import ScenarioResult
from reliability.reverse_etl import tally
from reliability.size import Size
from reliability.workspace import Workspace, singer_lines

MAX_ROUNDS = 30


def customers_load(tag: str, count: int) -> list[dict[str, Any]]:
    schema = {"type": "object", "properties": {}}
    return [
        {"type": "SCHEMA", "stream": "customers", "schema": schema, "key_properties": []},
        *(
            {
                "type": "RECORD",
                "stream": "customers",
                "record": {"Code": f"K{tag}{i:04d}", "Name": f"Gelijktijdig {tag} {i}"},
            }
            for i in range(count)
        ),
    ]


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Concurrency on one token store",
        "tap + target on division A and a tap on division B at once, one grant and one token "
        "store; token lifetime 2 s, refresh window 1 s, 20 calls per 2 s 'minute' per division",
    )
    flags = {
        "token_lifetime": 2,
        "refresh_window": 1,
        "minute_seconds": 2,
        "minutely_limit": 20,
        "daily_limit": 1000000,
        "token_daily_limit": 0,
    }
    with Sandbox(scale=0.03, divisions=2, access_log=False, **flags) as sb:
        ws = Workspace(sb, root)
        try:
            grant = ws.grant()
            div_a, div_b = grant["divisions"][:2]
            store = root / "shared-tokens.json"
            tap_a = ws.config(grant, store, divisions=[div_a])
            tap_b = ws.config(grant, store, divisions=[div_b])
            target = ws.config(grant, store, division=div_a, on_error="fail")
            sb.reset_stats()
            lock = threading.Lock()
            rounds: dict[str, int] = {"tap A": 0, "tap B": 0, "target A": 0}
            failures: list[str] = []
            loads: list[list[dict[str, Any]]] = []
            reference_b: list[dict[Any, Any]] = []

            def enough() -> bool:
                return sb.stats()["token_calls"] >= size.lifetimes and all(rounds.values())

            def tap_round(config: dict[str, Any], lane: str) -> None:
                out = ws.run_tap(config)
                if out.returncode != 0 or out.state is None:
                    failures.append(f"{lane}: exit {out.returncode}")
                    return
                if lane == "tap B":  # division B is never written: every round reads the same
                    got, _ = keyed(out.records())
                    with lock:
                        if not reference_b:
                            reference_b.append(got)
                    diff = difference(reference_b[0], got)
                    if not diff.none:
                        failures.append(f"tap B differs between rounds: {diff.examples}")

            def target_round(n: int) -> None:
                messages = customers_load(f"{n:03d}", max(5, size.customers // 3))
                loads.append(messages)
                out = ws.run_target(target, singer_lines(messages))
                created = ((out.summary or {}).get("streams") or {}).get("customers", {})
                if out.returncode != 0 or created.get("created") != len(messages) - 1:
                    failures.append(f"target round {n}: exit {out.returncode} {created}")

            def lane(name: str, body: Callable[[int], None]) -> None:
                while rounds[name] < MAX_ROUNDS and not failures:
                    body(rounds[name])
                    with lock:
                        rounds[name] += 1
                    if enough():
                        return

            threads = [
                threading.Thread(target=lane, args=("tap A", lambda n: tap_round(tap_a, "tap A"))),
                threading.Thread(target=lane, args=("tap B", lambda n: tap_round(tap_b, "tap B"))),
                threading.Thread(target=lane, args=("target A", target_round)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stats = sb.stats()
            result.runs = sum(rounds.values())
            result.problems += failures
            errors = stats["token_errors"]
            result.figures.update(
                {
                    "rounds (tap A, tap B, target A)": ", ".join(str(v) for v in rounds.values()),
                    "token calls (lifetimes crossed)": stats["token_calls"],
                    "Old refresh token used": errors.get("Old refresh token used", 0),
                    "Access Token not expired": errors.get("Access Token not expired", 0),
                    "429 answers": stats["by_status"].get("429", 0),
                    "API calls": stats["api_calls"],
                }
            )
            result.check(errors == {}, f"token errors: {errors}")
            result.check(stats["by_status"].get("429", 0) == 0, "a call was answered 429")
            result.check(stats["token_calls"] >= size.lifetimes, "too few token lifetimes crossed")
            for messages in loads:
                lost, duplicated, examples = tally(sb, div_a, messages)
                result.checked += len(messages) - 1
                result.lost += lost
                result.duplicated += duplicated
                result.problems += examples[:3]
            result.checked += sum(len(r) for r in reference_b)
            result.check(
                len(ws.watcher.refresh_tokens - {grant["refresh_token"]}) >= stats["token_calls"],
                "the token watcher missed issued tokens (secret scan incomplete)",
            )
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
