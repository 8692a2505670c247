"""The benchmarks (`make bench`) at a tiny scale, so their code paths cannot rot.

Only counts and ratios taken from the sandbox's statistics are asserted, never a timing: speed
belongs to benchmarks/RESULTS.md. Each test runs one section of the `smoke` profile with its own
sandbox, so xdist can spread them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmarks.cost import minimum_calls, pages, window_use
from benchmarks.extraction import stream_endpoints
from benchmarks.null_target import consume
from benchmarks.parallel import LATENCY_REPEATS, run_sizes
from benchmarks.report import goals
from benchmarks.run import PROFILES, main, run_all, run_section
from exactonline_sandbox.data import FINANCE_KEYS
from exactonline_sandbox.store import Company

SMOKE = PROFILES["smoke"]


def test_minimum_calls_counts_one_page_per_thousand_rows_and_one_for_an_empty_endpoint() -> None:
    assert [pages(n) for n in (0, 1, 1000, 1001, 2500)] == [1, 1, 1, 2, 3]
    # endpoints 3 + 1 + 1 pages, system/Divisions 1, sync/Deleted 1
    assert minimum_calls({"a": 2001, "b": 0, "c": 999}, deleted_rows=0) == 7


def test_window_use_fills_idle_windows_with_zero_and_skips_partial_first_and_last() -> None:
    def window(start_s: int, calls: int, rejected: int = 0, client: str = "app") -> dict:
        return {
            "client_id": client,
            "division": 7,
            "start_ms": start_s * 1000,
            "calls": calls,
            "limit": 10,
            "rejected": rejected,
        }

    records = [
        window(100, 3),
        window(102, 10),
        window(106, 8, rejected=1),
        window(102, 9, client="other"),
    ]
    use = window_use(records, "app", 7, window_ms=2000)
    assert use.calls == [3, 10, 0, 8]
    assert use.full == [10, 0]
    assert use.share == pytest.approx(0.5)
    assert use.lowest_share == 0.0
    assert use.total_rejected == 1


def test_null_target_counts_records_of_both_writer_styles_and_keeps_the_last_state() -> None:
    lines = [
        {"type": "SCHEMA", "stream": "customers", "schema": {}, "key_properties": ["ID"]},
        {"type": "RECORD", "stream": "customers", "record": {"ID": 1}},
        {"type": "STATE", "value": {"bookmarks": {"customers": 1}}},
        {"type": "RECORD", "stream": "items", "record": {"ID": 2}},
        {"type": "STATE", "value": {"bookmarks": {"customers": 2}}},
    ]
    compact = "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in lines)
    spaced = "".join(json.dumps(m) + "\n" for m in lines)
    reordered = json.dumps({"stream": "items", "type": "RECORD", "record": {}}) + "\n"
    for text in (compact, spaced + reordered):
        result = consume(io.BytesIO(text.encode()))
        assert result["state"] == {"bookmarks": {"customers": 2}}
    assert consume(io.BytesIO(compact.encode()))["records"] == {"customers": 1, "items": 1}
    assert consume(io.BytesIO((spaced + reordered).encode()))["records"] == {
        "customers": 1,
        "items": 2,
    }


def test_extraction_budget_and_profile_sections_write_results_plot_and_report(
    tmp_path: Path,
) -> None:
    sections = ("extraction", "budget", "sandbox_throughput", "tap_profile")
    results = run_all(SMOKE, tmp_path, sections)

    full = results["extraction"]["full"]
    assert full["rows"] > 1000 and full["status_429"] == 0
    assert full["api_calls"] >= full["minimum_calls"]  # nobody beats the minimum
    assert full["records_emitted"] > 0 and full["token_calls"] >= 1
    assert (
        sum(e["calls"] for e in full["per_endpoint"]) + sum(full["other_endpoints"].values())
        == full["api_calls"]
    )
    # the tap's CPU is reported (not a goal): from the tap process's own usage
    assert full["records_per_second"] == pytest.approx(
        full["records_emitted"] / full["wall_seconds"]
    )
    assert full["records_per_cpu_second"] == pytest.approx(
        full["records_emitted"] / full["tap_cpu_seconds"]
    )

    inc = results["extraction"]["incremental"]
    assert inc["changed_rows"] > 0 and sum(inc["writes"].values()) > 0
    assert inc["api_calls"] >= inc["minimum_calls"]
    assert inc["rows_served"] >= inc["changed_rows"]
    assert inc["records_emitted"] < full["records_emitted"]

    budget = results["budget"]
    limit = budget["compression"]["minutely_limit"]
    for run in (budget["tap_alone"], budget["tap_and_target"]):
        assert run["windows"] and max(run["windows"]) <= limit
        assert run["status_429"] == 0 and run["rejected_in_windows"] == 0
    both = budget["tap_and_target"]
    assert both["customers_created"] == both["customers"]

    others = len(stream_endpoints()) - 3  # endpoints besides the three COMPANY sizes
    assert results["walltime"]["minimum_calls"] == 200 + 50 + 10 + others + 2
    report = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "## 1. Extraction cost" in report and "## 3. Budget use" in report
    assert f"{full['api_calls']} calls for a minimum of {full['minimum_calls']}" in report
    assert "(budget.png)" in report
    assert sum(a["share"] for a in results["tap_profile"]["areas"]) == pytest.approx(1.0)
    assert "Where the tap's time goes" in report
    assert (tmp_path / "budget.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "results.json").read_text())["profile"] == "smoke"
    (tmp_path / "RESULTS.md").unlink()
    assert main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "RESULTS.md").read_text(encoding="utf-8") == report


def test_parallel_section_compares_parallel_calls_and_reports_memory_and_start_date(
    tmp_path: Path,
) -> None:
    results = run_all(SMOKE, tmp_path, ("latency", "parallel"))
    par = results["parallel"]
    for block in (results["latency"], par["incremental"]):
        one, default = block["one_at_a_time"], block["default"]
        assert one["records"] == default["records"]
        assert one["api_calls"] == default["api_calls"]  # the same calls, only sooner
        assert one["status_429"] == default["status_429"] == 0
        assert block["speedup"] == pytest.approx(one["wall_seconds"] / default["wall_seconds"])
    assert par["incremental"]["default"]["records"] < par["incremental"]["first_sync"]["records"]
    # 8a's default run lasts seconds: each side measured LATENCY_REPEATS times, medians count
    lat = results["latency"]
    for side in ("default", "one_at_a_time"):
        side_walls = lat[f"{side}_walls"]
        assert len(side_walls) == LATENCY_REPEATS
        assert lat[side]["wall_seconds"] == sorted(side_walls)[len(side_walls) // 2]
    walls = lat["default_walls"]
    mem = par["memory"]
    assert mem["peak_rss_mb"] > 0 and mem["records"] > 0
    # measured as `meltano run` starts the tap (meltano.yml's plugin env) and as a bare process
    assert mem["env"] == {"MALLOC_ARENA_MAX": "2"}
    assert mem["bare"]["env"] == {} and mem["bare"]["records"] == mem["records"]
    sd = par["start_date"]
    assert 0 < sd["one_month"]["records"] < sd["full"]["records"]
    report = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "## 8. Parallel calls, memory and start_date" in report
    assert f"{mem['peak_rss_mb']:.0f} MB" in report
    assert f"{mem['records_per_cpu_second'] / 1000:.0f} divisions at full API rate" in report
    assert "40,000" not in report
    assert f"median of {', '.join(f'{w:.1f}' for w in walls)}" in report


def test_sizes_section_compares_every_division_with_the_largest_alone(tmp_path: Path) -> None:
    result = run_sizes(
        tmp_path,
        scale=SMOKE.sizes_scale,
        minute_seconds=SMOKE.compression.minute_seconds,
        minutely_limit=20,  # a few windows a run: the mechanics, not the limit
        repeats=2,
    )
    for side in ("all", "largest_alone"):
        walls = result[f"{side}_walls"]
        assert len(walls) == 2
        assert result[side]["wall_seconds"] == sorted(walls)[1]
    every, alone = result["all"], result["largest_alone"]
    assert every["status_429"] == alone["status_429"] == 0
    assert alone["api_calls"] < every["api_calls"]
    assert alone["records"] < every["records"]
    assert result["ratio"] == pytest.approx(every["wall_seconds"] / alone["wall_seconds"])
    [(goal, measured, met)] = goals({"sizes": result})
    assert goal.startswith("8c. 8 divisions of different sizes")
    assert result["status_429_every_run"] == 0
    assert measured.endswith(
        f"for the largest alone: {result['ratio']:.2f}x; 0 x 429 over every measured run"
    )
    assert met == (result["ratio"] <= 1.15)


def test_target_cost_section_counts_writes_from_the_sandbox(tmp_path: Path) -> None:
    result = run_section("target_cost", SMOKE, tmp_path)
    for stream, records in (
        ("customers", SMOKE.target_customers),
        ("sales_invoices", SMOKE.target_invoices),
    ):
        create, update, unchanged = (result[stream][k] for k in ("create", "update", "unchanged"))
        assert create["records"] == records
        assert create["writes"] == records and update["writes"] == records
        assert unchanged["writes"] == 0
        for run in (create, update, unchanged):
            assert run["writes"] + run["reads"] == run["api_calls"]
            assert run["calls_per_record"] == pytest.approx(run["api_calls"] / records)
    for kind in ("create", "update", "unchanged"):
        check = result[f"check_{kind}"]
        assert check["customers_present"] == check["customers_current"] == SMOKE.target_customers
        assert check["invoices_present"] == check["invoices_current"] == SMOKE.target_invoices
        assert check["customers_duplicated"] == check["invoices_duplicated"] == 0


def test_token_section_counts_token_calls_over_a_compressed_hour_and_only_replaces_itself(
    tmp_path: Path,
) -> None:
    earlier = run_all(SMOKE, tmp_path, ("sandbox_throughput",))
    result = run_all(SMOKE, tmp_path, ("tokens",))
    # `--only tokens` measured tokens again and kept the earlier section with when it was measured
    assert result["sandbox_throughput"] == earlier["sandbox_throughput"]
    assert set(result["measured"]) == {"sandbox_throughput", "tokens"}
    assert result["measured"]["sandbox_throughput"] == earlier["measured"]["sandbox_throughput"]
    report = (tmp_path / "RESULTS.md").read_text()
    assert "| sandbox_throughput |" in report and "| tokens |" in report
    result = result["tokens"]
    assert result["runs"]["tap"] >= 1 and result["api_calls"] > 0
    assert 1 <= result["token_calls"] <= result["allowed"]
    assert result["token_errors"] == {}


def test_shared_store_section_counts_token_calls_and_429s_of_four_workers(tmp_path: Path) -> None:
    result = run_all(SMOKE, tmp_path, ("shared_store",))["shared_store"]
    assert all(calls > 0 for calls in result["worker_calls"]), result
    assert result["worker_errors"] == 0
    assert 1 <= result["token_calls"] <= result["allowed"]
    assert result["token_errors"] == {} and result["status_429"] == 0
    report = (tmp_path / "RESULTS.md").read_text()
    assert "## 9. Four workers sharing a PostgreSQL token store" in report


def test_state_size_section_measures_the_key_memories_and_a_small_incremental_state(
    tmp_path: Path,
) -> None:
    result = run_section("state_size", SMOKE, tmp_path)
    full, incremental = result["full"], result["incremental"]
    assert full["records"] > 0 and full["remembered_keys"] > 0
    # 16 bytes a key in base64: 21.3 characters (plus the "1:" prefix of each memory)
    assert 21 <= full["memory_bytes"] / full["remembered_keys"] < 22
    assert full["state_bytes"] >= full["last_state_bytes"] > full["memory_bytes"]
    assert incremental["records"] >= result["changes"]
    assert incremental["state_messages"] <= 3
    assert incremental["remembered_keys"] == full["remembered_keys"] + result["changes"]


def test_generation_section_counts_the_financial_core_and_a_catalogue_table_it_generated(
    tmp_path: Path,
) -> None:
    results = run_all(SMOKE, tmp_path, ("generation",))
    run = results["generation"]["runs"]["this"]
    finance, generic = run["finance"], run["generic"]
    company = Company(seed=1, scale=SMOKE.generation_scale, divisions=1)
    code = company.division_codes[0]
    assert finance["transaction_lines"] == len(
        company.rows(code, "sync/Financial/TransactionLines")
    )
    # every row the lines rest on was generated with them (accounts, invoices, entries...)
    assert finance["rows_generated"] > finance["transaction_lines"] + len(
        company.rows(code, "sync/CRM/Accounts")
    )
    div = company._divisions[code]
    others = [t for t in FINANCE_KEYS if t != "transactionlines"]
    assert finance["other_tables"] == len(others)
    assert finance["other_rows"] == sum(len(div.tables[t]) for t in others)
    assert generic["rows"] == SMOKE.generation_generic_rows
    for measured in (finance, generic):
        assert measured["peak_rss_mb"] >= measured["start_rss_mb"] > 0
        assert measured["cpu_seconds"] >= 0
    report = (tmp_path / "RESULTS.md").read_text()
    assert "## 12. Sandbox generation" in report
    assert f"| {finance['transaction_lines']:,} | {finance['rows_generated']:,} |" in report
