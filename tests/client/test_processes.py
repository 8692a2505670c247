"""Many processes, one grant: the shared store and throttle hold under real concurrency."""

from __future__ import annotations

import math
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exactonline_api.token_store import FileTokenStore
from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.support.processes import results, spawn


def test_eight_processes_share_one_grant_across_token_lifetimes(
    sandbox_factory, tmp_path: Path
) -> None:
    lifetime = 4.0
    sb = sandbox_factory(
        scale=0.02,
        divisions=1,
        token_lifetime=lifetime,
        refresh_window=2,
        minutely_limit=100000,
        daily_limit=1000000,
        access_log=False,
    )
    grant = sb.grant()
    config = config_for(sb, grant, tmp_path)
    until = time.time() + 4 * lifetime
    procs = [
        spawn("hammer", {"config": config, "division": grant["divisions"][0], "until": until})
        for _ in range(8)
    ]
    outcome = results(procs)
    stats = sb.stats()
    context = {"outcome": outcome, "stats": {k: v for k, v in stats.items() if k != "windows"}}
    assert all(o["errors"] == [] for o in outcome), context
    assert all(o["calls"] > 0 for o in outcome), context
    assert stats["token_errors"].get("Old refresh token used", 0) == 0
    assert stats["token_errors"].get("Access Token not expired", 0) == 0
    assert stats["token_errors"] == {}, context
    refreshes = sum(o["refreshes"] for o in outcome)
    assert refreshes == stats["token_calls"], context
    # one token per lifetime elapsed while the processes called the API (the first included)
    span = max(o["last"] for o in outcome) - min(o["first"] for o in outcome)
    lifetimes = span / lifetime
    assert math.floor(lifetimes) <= refreshes <= math.ceil(lifetimes) + 1, (span, context)


@pytest.fixture(scope="module")
def short_lived() -> Iterator[Sandbox]:
    """Tokens that expire in 2 s, so a test can make the stored refresh token do real work."""
    with Sandbox(scale=0.02, divisions=1, token_lifetime=2, refresh_window=1) as sb:
        yield sb


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_while_writing_never_leaves_a_broken_store(
    short_lived: Sandbox, make_client, tmp_path: Path, seed: int
) -> None:
    grant = short_lived.grant()
    store = tmp_path / "tokens.json"
    make_client(short_lived, grant, store=store).me()  # a real grant in the store
    rng = random.Random(seed)
    for _ in range(2):
        writers = [spawn("write_store", {"store": str(store)}) for _ in range(3)]
        for proc in writers:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(rng.random() * 0.2)
        for proc in writers:
            time.sleep(rng.random() * 0.01)
            os.kill(proc.pid, signal.SIGKILL)
        for proc in writers:
            proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL
        state = FileTokenStore(store).load()  # parses, or raises
        assert state is not None and state.refreshes > 1, "the writers did write"
    # the grant survived: once the access token expires, the stored refresh token is used for real
    client = make_client(short_lived, grant, store=store)
    assert state is not None
    time.sleep(max(0.0, state.refresh_after - time.time()))
    client.me()
    assert client.tokens.refreshes == 1
    # temp files of killed writers are swept by the next save
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
