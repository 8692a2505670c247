"""The tap's end-of-run summary (a log line, and `summary_file`): records per stream and division
as emitted, API calls per division as Exact counted them, throttle waits, the budget left."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from exactonline_sandbox.harness import Sandbox
from tap_exactonline.summary import TapSummary
from tests.support.tap_runner import TapRunner

DAILY_LIMIT = 5000


def test_the_summary_counts_what_was_emitted_and_what_it_cost_per_division(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner], tmp_path: Path
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=2)
    runner = tap_runner(sb)
    divisions = runner.grant["divisions"]
    summary_file = tmp_path / "out" / "tap-summary.json"
    sb.reset_stats()

    run = runner.run(divisions=divisions, summary_file=str(summary_file))

    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    emitted = Counter(
        (m["stream"], str(m["record"]["Division"])) for m in run.messages if m["type"] == "RECORD"
    )
    assert {
        (stream, division): counts["records"]
        for stream, per in summary["streams"].items()
        for division, counts in per.items()
    } == dict(emitted)
    assert summary["records"] == sum(emitted.values())
    stats = sb.stats()
    assert summary["api_calls"] == {str(d): stats["by_division"][str(d)] for d in divisions}
    assert summary["api_calls_total"] == stats["api_calls"]
    for division in divisions:
        left = summary["budget_left"][str(division)]
        assert left["daily_remaining"] == DAILY_LIMIT - stats["by_division"][str(division)]
    assert summary["failed"] == [] and summary["unavailable"] == []
    [line] = [x for x in run.stderr.splitlines() if "tap-exactonline summary:" in x]
    assert f"{summary['records']} records emitted" in line
    assert f"{summary['api_calls_total']} API calls" in line


def test_the_summary_counts_the_waits_for_the_minute_budget(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner], tmp_path: Path
) -> None:
    # 4 calls a one-second "minute": the run's dozen calls wait for the next one several times
    sb = sandbox_factory(scale=0.05, divisions=1, minute_seconds=1, minutely_limit=4)
    runner = tap_runner(sb)
    summary_file = tmp_path / "tap-summary.json"

    run = runner.run(
        divisions=runner.grant["divisions"], parallel_calls=1, summary_file=str(summary_file)
    )

    assert run.returncode == 0, run.stderr[-3000:]
    waits = json.loads(summary_file.read_text())["throttle_waits"]
    assert waits["count"] >= 2 and waits["seconds"] > 0
    [line] = [x for x in run.stderr.splitlines() if "tap-exactonline summary:" in x]
    assert f"throttle waits: {waits['count']} " in line


def test_streams_a_division_cannot_serve_are_listed_by_the_summary() -> None:
    """The method the stream table's 403 skip reports through (one entry per stream and
    division), and how the summary shows it."""
    summary = TapSummary()
    summary.stream_unavailable("manufacturing_orders", 758984, "module missing (403)")
    data = summary.as_dict(None, [758984])
    assert data["unavailable"] == [
        {"stream": "manufacturing_orders", "division": 758984, "reason": "module missing (403)"}
    ]
