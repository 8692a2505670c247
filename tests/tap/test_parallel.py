"""Parallel calls (`parallel_calls`): the same records and bookmarks as one call at a time,
resumable after a kill at any moment, within Exact's limits, and one failing division does not
stop the others."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tests.support.tap_runner import CORE_STREAMS, TapRun, TapRunner, every_stream, forget_budget
from tests.tap.truth import TRUTH, truth_rows

SYNC_STREAMS = sorted(TRUTH)
EVERY_READ_MODE = [
    *CORE_STREAMS,
    "journals",  # Modified, ordered, key skiptoken
    "purchase_entries",  # Modified, through a bulk endpoint
    "gl_account_classification_mappings",  # full table
    "gl_classifications",  # a catalogue sync stream
]
"""Streams of every kind of read (the whole table takes minutes to kill and resume thrice)."""
DELETED_AT = "_sdc_deleted_at"
NO_SUCH_DIVISION = 999999


def upserts(messages: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every record that is not a deletion, as canonical JSON, per stream."""
    found: dict[str, set[str]] = {}
    for m in messages:
        if m["type"] == "RECORD" and m["record"].get(DELETED_AT) is None:
            found.setdefault(m["stream"], set()).add(json.dumps(m["record"], sort_keys=True))
    return found


def assert_valid_singer(run: TapRun) -> None:
    """SCHEMA before a stream's first RECORD; every message a known type."""
    schemas: set[str] = set()
    for m in run.messages:
        assert m["type"] in {"SCHEMA", "RECORD", "STATE"}, m["type"]
        if m["type"] == "SCHEMA":
            schemas.add(m["stream"])
        elif m["type"] == "RECORD":
            assert m["stream"] in schemas, f"RECORD of {m['stream']} before its SCHEMA"


def most_calls(run: TapRun) -> int:
    """What the tap reports as the most calls it had in flight at once."""
    line = next(x for x in run.stderr.splitlines() if "calls at once" in x)
    return int(line.split("at most ")[1].split(" calls")[0])


def test_parallel_and_one_at_a_time_runs_emit_the_same_records_and_bookmarks(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    # every call waits 50 ms, so calls of several divisions overlap when they may
    # every stream is more calls a division than Exact's 60 a minute: not this test's subject
    sb = sandbox_factory(
        scale=0.05, divisions=3, faults="latency:1.0@30ms", minutely_limit=UNTHROTTLED
    )
    divisions = tap_runner(sb).grant["divisions"]

    # every stream: sync reads, Modified reads with their ordered skiptoken, full tables
    one = tap_runner(sb).run(divisions=divisions, parallel_calls=1, streams=every_stream())
    parallel = tap_runner(sb).run(divisions=divisions, streams=every_stream())  # default: 8

    for run in (one, parallel):
        assert run.returncode == 0, run.stderr[-3000:]
        assert_valid_singer(run)
    assert most_calls(one) == 1
    assert most_calls(parallel) > 1
    assert upserts(parallel.messages) == upserts(one.messages)
    assert sorted(
        json.dumps(m["record"], sort_keys=True)
        for m in parallel.messages
        if m["type"] == "RECORD" and m["record"].get(DELETED_AT)
    ) == sorted(
        json.dumps(m["record"], sort_keys=True)
        for m in one.messages
        if m["type"] == "RECORD" and m["record"].get(DELETED_AT)
    )
    assert parallel.state == one.state
    for stream in SYNC_STREAMS:
        for division in divisions:
            want = set(truth_rows(sb, division, stream))
            key = TRUTH[stream][1]
            got = {r[key] for r in parallel.records(stream) if r["Division"] == division}
            assert got >= want, (stream, division)


def run_killed(runner: TapRunner, after_lines: int, **options: Any) -> list[dict[str, Any]]:
    """Start the tap, read `after_lines` lines of its output, then SIGKILL it; what was read."""
    proc = subprocess.Popen(
        runner.command(**options),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    read: list[dict[str, Any]] = []
    for line in proc.stdout:
        read.append(json.loads(line))
        if len(read) >= after_lines:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.stdout.close()
    proc.wait(timeout=120)
    return read


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_sigkill_at_a_random_moment_then_resume_from_the_last_state_loses_nothing(
    seed: int, sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.1, divisions=3, faults="latency:1.0@20ms")
    divisions = tap_runner(sb).grant["divisions"]
    streams = EVERY_READ_MODE
    clean = tap_runner(sb).run(divisions=divisions, streams=streams)
    assert clean.returncode == 0, clean.stderr[-3000:]
    moment = random.Random(seed).randint(1, len(clean.messages) - 1)

    runner = tap_runner(sb)
    killed = run_killed(runner, moment, divisions=divisions, streams=streams)
    states = [m["value"] for m in killed if m["type"] == "STATE"]
    resumed = runner.run(divisions=divisions, state=states[-1] if states else None, streams=streams)

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    union = upserts(killed)
    for stream, records in upserts(resumed.messages).items():
        union.setdefault(stream, set()).update(records)
    assert union == upserts(clean.messages), f"killed after {moment} messages"
    assert resumed.state["bookmarks"] == clean.state["bookmarks"]


def test_tight_limits_in_compressed_time_with_divisions_in_parallel_get_no_429_and_no_token_error(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    # 4 calls per division per 1-second "minute", tokens living 3 seconds (refreshable at any
    # time, so only the count below holds the client to one refresh per lifetime): far more
    # calls than one window or one token covers, 4 divisions at once
    sb = sandbox_factory(
        scale=0.1,
        divisions=4,
        minute_seconds=1,
        minutely_limit=4,
        token_lifetime=3,
        refresh_window=3,
    )
    runner = tap_runner(sb)
    divisions = runner.grant["divisions"]
    sb.reset_stats()

    started = time.monotonic()
    run = runner.run(divisions=divisions)
    seconds = time.monotonic() - started

    assert run.returncode == 0, run.stderr[-3000:]
    stats = sb.stats()
    assert stats["by_status"].get("429", 0) == 0
    assert stats["by_status"].get("401", 0) == 0
    assert stats["token_errors"] == {}
    # one token for every worker, refreshed in its last 5% (0.15 s): one refresh per lifetime
    # (2.5 s leaves room for the refresh's own time), not one per thread or per call
    assert 1 <= stats["token_calls"] <= 1 + seconds / 2.5
    assert most_calls(run) > 1
    for stream in SYNC_STREAMS:
        for division in divisions:
            key = TRUTH[stream][1]
            got = {r[key] for r in run.records(stream) if r["Division"] == division}
            assert got >= set(truth_rows(sb, division, stream)), (stream, division)


def test_a_division_out_of_daily_budget_stops_alone_and_later_days_finish_it(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    # 15 calls a day per division: the small one needs 11, the large one 23 (and a day after,
    # one call per read it already finished, besides what it still has to read). The small
    # one lacks the sales order module: settled at the end of the first run, when the large
    # division, through which system/Divisions is listed, has no budget left to list again
    sb = sandbox_factory(
        scale=1.0,
        divisions=2,
        division_scales="1,0.05",
        daily_limit=15,
        missing_modules="#2=salesorder",
    )
    runner = tap_runner(sb)
    large, small = runner.grant["divisions"]

    runs = [runner.run(divisions=[large, small])]
    while "daily API limit" in runs[-1].stderr and len(runs) < 5:
        assert f"the daily API limit of division(s) {large} is reached" in runs[-1].stderr
        sb.advance_clock(86400)
        forget_budget(runner)
        runs.append(runner.run(divisions=[large, small], state=runs[-1].state))

    assert len(runs) >= 2 and "daily API limit" not in runs[-1].stderr
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr[-3000:]
    assert most_calls(runs[0]) > 1
    assert sb.stats()["by_status"].get("429", 0) == 0
    first = runs[0]
    assert any("unfinished" in first.partition(s, large) for s in SYNC_STREAMS)
    # the module the small division lacks, found while the large one's budget was spent
    assert "system/Divisions not read again" in first.stderr
    lacked = {s for s in SYNC_STREAMS if first.partition(s, small).get("unavailable")}
    assert lacked == {"sales_orders", "sales_order_lines"}
    for stream in SYNC_STREAMS:
        key = TRUTH[stream][1]
        # the small division was read to the end in the first run
        if stream not in lacked:
            want = set(truth_rows(sb, small, stream))
            assert {r[key] for r in first.records(stream) if r["Division"] == small} >= want
        assert "unfinished" not in first.partition(stream, small)
        # the large one resumed from its bookmarks: no gap over the runs
        got = {r[key] for run in runs for r in run.records(stream) if r["Division"] == large}
        assert got >= set(truth_rows(sb, large, stream)), stream
        assert "unfinished" not in runs[-1].partition(stream, large)


def test_a_listed_division_the_grant_cannot_reach_is_skipped_before_any_call_to_it(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=2)
    runner = tap_runner(sb)
    first, second = runner.grant["divisions"]

    run = runner.run(divisions=[first, NO_SUCH_DIVISION, second])

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert str(NO_SUCH_DIVISION) not in sb.stats()["by_division"]  # never called
    assert sb.stats()["by_endpoint"]["system/Divisions"] == 1  # the divisions stream's call
    said = [line for line in run.stderr.splitlines() if str(NO_SUCH_DIVISION) in line]
    assert said and all("setting 'divisions'" in line for line in said), said
    assert said[0].count("not reachable with this grant") == 1
    assert said[-1].startswith("tap-exactonline: setting 'divisions': division 999999 is not")
    for stream in SYNC_STREAMS:
        key = TRUTH[stream][1]
        for division in (first, second):
            got = {r[key] for r in run.records(stream) if r["Division"] == division}
            assert got >= set(truth_rows(sb, division, stream)), (stream, division)
            assert "unfinished" not in run.partition(stream, division)
        assert run.partition(stream, NO_SUCH_DIVISION) == {}


def test_a_division_lost_during_a_run_fails_by_name_while_the_others_finish(
    sandbox_factory: Callable[..., Sandbox],
    tap_runner: Callable[..., TapRunner],
    tmp_path: Path,
) -> None:
    # the fourth division lacks the CRM module: contacts, the first stream written, is refused
    # there (a module it lacks, not a failure). Once the tap has written that stream and moved
    # on, the second division is taken from the user, while calls of 300 ms each leave most of
    # its 40-fold larger books still to read: its refusals then are a failure
    sb = sandbox_factory(
        scale=0.05,
        divisions=4,
        division_scales="1,40,1,1",
        faults="latency:1.0@300ms",
        missing_modules="#4=crm",
    )
    runner = tap_runner(sb)
    first, lost, kept, lacking = runner.grant["divisions"]
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            runner.command(divisions=[first, lost, kept, lacking]),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert proc.stdout is not None
        messages = []
        for line in proc.stdout:
            messages.append(json.loads(line))
            if messages[-1]["type"] == "SCHEMA" and messages[-1]["stream"] != "contacts":
                break  # contacts is written in every division: its refusal is behind the tap
        assert any(m["type"] == "SCHEMA" and m["stream"] == "contacts" for m in messages)
        sb.withdraw_division(lost)
        messages += [json.loads(line) for line in proc.stdout]
        proc.wait(timeout=600)
    run = TapRun(proc.returncode, messages, stderr_path.read_text())

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    failed = [line for line in run.stderr.splitlines() if line.startswith("  ")]
    assert failed and all(f" in division {lost}: " in line for line in failed), failed
    assert f"tap-exactonline: reads failed in division(s) {lost} (the other" in run.stderr
    assert "system/Divisions no longer lists it as open" in run.stderr
    for stream in SYNC_STREAMS:
        key = TRUTH[stream][1]
        for division in (first, kept):
            got = {r[key] for r in run.records(stream) if r["Division"] == division}
            assert got >= set(truth_rows(sb, division, stream)), (stream, division)
            assert "unfinished" not in run.partition(stream, division)
        # not taken for a module the division lacks, which later runs would skip silently
        assert "unavailable" not in run.partition(stream, lost)
    assert [s for s in SYNC_STREAMS if run.partition(s, lost).get("unfinished")]
    # the division that lacks a module: skipped there and remembered, not a failure
    for stream in ("contacts", "customers"):
        assert run.partition(stream, lacking)["unavailable"] == "HTTP 403"
        assert f"{stream} division {lacking}: not available (HTTP 403" in run.stderr
    assert f"division {lost}: not available" not in run.stderr


def test_a_run_whose_listed_divisions_are_all_unreachable_stops_with_one_line(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)

    run = runner.run(divisions=[NO_SUCH_DIVISION])

    assert run.returncode == 1
    assert run.messages == [] or not [m for m in run.messages if m["type"] == "RECORD"]
    # the only call to it: system/Divisions, listed through the first division named (then
    # through the user's current one, as it answered 403)
    assert sb.stats()["by_division"][str(NO_SUCH_DIVISION)] == 1
    assert sb.stats()["by_endpoint"]["system/Divisions"] == 2
    [line] = [x for x in run.stderr.splitlines() if "ConfigError" in x]
    assert line.startswith("tap-exactonline: ConfigError: setting 'divisions': division 999999")
    assert f"which lists {runner.grant['divisions'][0]}" in line
    assert "Traceback" not in run.stderr


def test_one_tap_object_synced_twice_plans_and_reads_again(
    sandbox_factory: Callable[..., Sandbox],
    tap_runner: Callable[..., TapRunner],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tap_exactonline.tap import TapExactOnline

    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    tap = TapExactOnline(
        config=runner.config(divisions=[division]),
        catalog=runner.catalog(None),  # the core streams
        parse_env_config=False,
    )
    streams: list[set[str]] = []
    calls = []
    for _ in range(2):
        sb.reset_stats()
        tap.sync_all()
        out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        streams.append({m["stream"] for m in out if m["type"] == "RECORD"})
        calls.append(sb.stats()["by_endpoint"])
    assert set(SYNC_STREAMS) <= streams[0]
    # the second sync is incremental from the same state (only the divisions table again),
    # and it read every endpoint again through a new plan
    assert streams[1] == {"divisions"}
    assert {e for e in calls[1] if e.startswith("sync/")} == {
        e for e in calls[0] if e.startswith("sync/")
    }


def test_a_state_from_before_the_division_context_was_renamed_resumes_where_it_stopped(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    first = runner.run(divisions=[division], streams=["items", "customers"])
    assert first.returncode == 0, first.stderr[-3000:]
    old = json.loads(json.dumps(first.state).replace('"Division": ', '"division": '))
    assert '"division": ' in json.dumps(old)

    again = runner.run(divisions=[division], streams=["items", "customers"], state=old)

    assert again.returncode == 0, again.stderr[-3000:]
    assert again.records("items") == [] and again.records("customers") == []
    assert again.state["bookmarks"] == first.state["bookmarks"]
