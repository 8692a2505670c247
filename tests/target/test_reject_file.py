"""The reject file across runs and processes, and what the stopping error and the summary say
about rejects: a re-run adds no reject that is already on file, `on_error: fail` names the file,
and `api_calls_per_record` is per record received (rejected ones included)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.target.singer_run import record, run_target, schema, start_target


def _messages(tag: str) -> list[dict]:
    """One good customer and two that Exact's types refuse (IsSales is a boolean)."""
    return [
        schema("customers"),
        record("customers", {"Code": f"OK{tag}", "Name": "Goed BV"}),
        record("customers", {"Code": f"B1{tag}", "Name": "Fout BV", "IsSales": "sometimes"}),
        record("customers", {"Code": f"B2{tag}", "Name": "Ook fout", "IsSales": "often"}),
    ]


def test_a_rerun_does_not_append_the_same_reject_again(target_config: dict, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    config = {**target_config, "on_error": "skip"}
    first = run_target(tmp_path, config, _messages(tag))
    assert first.returncode == 0, first.stderr
    assert [r["key"] for r in first.rejects] == [f"B1{tag}", f"B2{tag}"]

    again = run_target(tmp_path, config, _messages(tag))  # same reject file, a new process
    assert again.returncode == 0, again.stderr
    assert [r["key"] for r in again.rejects] == [f"B1{tag}", f"B2{tag}"]
    assert again.summary["streams"]["customers"]["rejected"] == 2  # still rejected this run

    changed = _messages(tag)[:3]
    changed[2]["record"]["IsSales"] = "rarely"  # another record: a reject of its own
    third = run_target(tmp_path, config, changed)
    assert [r["record"].get("IsSales") for r in third.rejects] == ["sometimes", "often", "rarely"]


def test_two_targets_sharing_a_reject_file_record_each_reject_once(
    target_config: dict, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    bad = [schema("customers")] + [
        record("customers", {"Code": f"B{n}{tag}", "IsSales": "maybe"}) for n in range(40)
    ]
    shared = {**target_config, "on_error": "skip", "reject_file": str(tmp_path / "shared.jsonl")}
    runs = [start_target(tmp_path, shared, bad, name) for name in ("one", "two")]
    finished = [r.finish() for r in runs]
    assert [r.returncode for r in finished] == [0, 0], [r.stderr for r in finished]
    lines = (tmp_path / "shared.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40
    assert len({line.split('"rejected_at"')[0] for line in lines}) == 40


def test_on_error_fail_names_the_reject_file(target_config: dict, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    run = run_target(tmp_path, target_config, _messages(tag)[:3])
    assert run.returncode == 1
    [line] = [x for x in run.stderr.splitlines() if "LoadStopped" in x]
    assert f"kept in {run.reject_file}" in line and f"customers record 'B1{tag}'" in line


def test_api_calls_per_record_counts_every_record_received(
    target_config: dict, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, _messages(tag))
    assert run.returncode == 0, run.stderr
    summary = run.summary
    assert summary["records_received"] == 3
    assert summary["totals"]["created"] == 1 and summary["totals"]["rejected"] == 2
    assert summary["api_calls"] > 0
    assert summary["api_calls_per_record"] == round(summary["api_calls"] / 3, 4)
