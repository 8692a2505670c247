"""Worker processes for the multi-process client tests: `python -m tests.support.workers CMD JSON`.

Each runs a real ExactClient (or the token store) in its own process, as a tap and a target would,
and prints one JSON summary line on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from exactonline_api.errors import ExactError
from exactonline_api.token_store import FileTokenStore, TokenState


def _client(spec: dict[str, Any]) -> Any:
    # imported here so the store writer starts fast (no singer-sdk import)
    from exactonline_api.client import ExactClient
    from exactonline_api.retry import RetryPolicy
    from exactonline_api.settings import ClientSettings

    retry = RetryPolicy(max_tries=5, base_delay=0.01, max_delay=0.05)
    return ExactClient(ClientSettings.from_config(spec["config"]), retry=retry)


def hammer(spec: dict[str, Any]) -> dict[str, Any]:
    """Call the API until `until` (epoch seconds): several token lifetimes of steady traffic."""
    client = _client(spec)
    errors: list[str] = []
    first = last = None
    while time.time() < spec["until"]:
        try:
            client.get(spec["division"], "crm/Accounts", {"$select": "ID", "$top": 1})
            first = first or time.time()
            last = time.time()
        except ExactError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    return {
        "first": first,
        "last": last,
        "calls": client.stats.calls,
        "refreshes": client.tokens.refreshes,
        "auth_retries": client.stats.auth_retries,
        "errors": errors,
    }


def burst(spec: dict[str, Any]) -> dict[str, Any]:
    """`calls` API calls as fast as the throttle lets them go."""
    client = _client(spec)
    client.me()  # token ready before the burst
    if "start" in spec:  # both processes ready: the burst starts together
        time.sleep(max(0.0, spec["start"] - time.time()))
    for _ in range(spec["calls"]):
        client.get(spec["division"], "crm/Accounts", {"$select": "ID", "$top": 1})
    return {"calls": client.stats.calls, "rate_limited": client.stats.rate_limited}


def write_store(spec: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the store forever (until killed) with states of varying size, under the lock."""
    store = FileTokenStore(Path(spec["store"]))
    base = TokenState.from_json(json.loads(Path(spec["store"]).read_text()))
    n = 0
    while True:
        n += 1
        history = list(base.history) + [f"sha256:{n:032x}"] * (n % 300)
        state = replace(base, history=history, refreshes=n)
        with store.lock():
            store.save(state)
        if n == 1:
            print("writing", flush=True)


COMMANDS = {"hammer": hammer, "burst": burst, "write_store": write_store}

if __name__ == "__main__":
    result = COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
    print(json.dumps(result), flush=True)
