"""Two target runs on one division at once (an orchestrator retry overlapping a run still going,
two schedules overlapping): writers of a division take turns, so nothing is created twice."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from exactonline_api.token_store import FileTokenStore
from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.target.singer_run import RunningTarget, invoices_for, start_target

INVOICES = "salesinvoice/SalesInvoices"


def _wait_for(condition: Any, run: RunningTarget) -> None:
    """Until `condition()` holds or the run ended (then the test's assertions tell why)."""
    while not condition() and run.proc.poll() is None:
        time.sleep(0.05)


def test_two_targets_writing_the_same_invoices_at_once_create_each_one_once(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = sandbox_factory(seed=5, divisions=1, minutely_limit=1000)
    grant = sb.grant()
    division = int(grant["divisions"][0])
    tag = uuid.uuid4().hex[:8].upper()
    messages = invoices_for(sb, division, [f"PAR-{tag}-{n}" for n in range(10)])
    config = config_for(sb, grant, tmp_path)
    # Slow invoice calls widen the window between a run's lookup and its POSTs, as a real
    # company's latency does: the second run starts while the first is still writing.
    sb.faults({"rate": {"latency": 1.0}, "latency_ms": 300, "endpoints": [INVOICES]})
    first = start_target(tmp_path, config, messages, "first")
    _wait_for(lambda: sb.stats()["by_endpoint"].get(INVOICES, 0) >= 1, first)
    second = start_target(tmp_path, config, messages, "second")
    a, b = first.finish(), second.finish()
    sb.clear_faults()
    assert a.returncode == 0, a.stderr[-3000:]
    assert b.returncode == 0, b.stderr[-3000:]

    refs = [r.get("YourRef") for r in sb.rows(division, INVOICES)]
    for n in range(10):
        assert refs.count(f"PAR-{tag}-{n}") == 1
    counts = [run.summary["streams"]["sales_invoices"] for run in (a, b)]
    assert sum(c["created"] for c in counts) == 10
    assert sum(c["unchanged"] for c in counts) == 10


def test_a_target_waits_while_another_run_writes_the_division_and_says_for_whom(
    sandbox: Sandbox, grant: dict[str, Any], tmp_path: Path
) -> None:
    division = int(grant["divisions"][0])
    tag = uuid.uuid4().hex[:8].upper()
    config = config_for(sandbox, grant, tmp_path)
    store = FileTokenStore(tmp_path / "tokens.json")
    before = sandbox.stats()
    with store.division_write_lock(division):  # another run, writing this division
        run = start_target(
            tmp_path, config, invoices_for(sandbox, division, [f"PAR-{tag}-0"]), "waits"
        )
        _wait_for(lambda: "waiting for it to finish" in run.stderr, run)
        assert run.proc.poll() is None, run.stderr[-3000:]
        assert f"pid {os.getpid()} on " in run.stderr
        # nothing looked up or written while the other run holds the division
        middle = sandbox.stats()
        assert middle["by_endpoint"].get(INVOICES, 0) == before["by_endpoint"].get(INVOICES, 0)
    done = run.finish()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.summary["streams"]["sales_invoices"]["created"] == 1
    assert f"division {division} is free: writing after waiting" in done.stderr
    refs = [r.get("YourRef") for r in sandbox.rows(division, INVOICES)]
    assert refs.count(f"PAR-{tag}-0") == 1
