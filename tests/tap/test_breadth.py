"""Every stream of the tap, through its CLI against the sandbox: full sync, a run with nothing
changed (at most one call per stream and division), changes and deletes, modules a division
lacks (403: skipped, remembered, retried on request)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from reliability.workspace import discovered_catalog
from tap_exactonline.catalogue_streams import not_by_default, sync_specs, table_specs
from tap_exactonline.spec import FULL
from tap_exactonline.streams import DIVISIONS_SPEC, STREAM_TABLE
from tests.support.tap_runner import TapRunner, every_stream

CATALOGUE_SPECS = (*sync_specs(), *table_specs())
UNAVAILABLE_LINE = re.compile(r"Unavailable streams \(skipped\): (.*)")


def reads_per_endpoint() -> Counter[str]:
    """How many reads a run makes of each endpoint per division (shared reads count once)."""
    groups: dict[str, set[str]] = {}
    for spec in STREAM_TABLE:
        groups.setdefault(spec.path, set()).add(spec.shared_read or spec.name)
    return Counter({path: len(names) for path, names in groups.items()})


def keys(run: Any, stream: str, division: int, key: str) -> set[Any]:
    return {r[key] for r in run.records(stream) if r["Division"] == division}


def test_every_stream_is_discoverable_with_its_key_cursor_and_default_selection() -> None:
    catalog = {s["tap_stream_id"]: s for s in json.loads(discovered_catalog())["streams"]}

    assert len(catalog) >= 81
    assert set(catalog) == {s.name for s in (*STREAM_TABLE, DIVISIONS_SPEC)}
    for spec in STREAM_TABLE:
        entry = catalog[spec.name]
        top = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert entry["key_properties"] == list(spec.key)
        assert entry.get("replication_key") == spec.replication_key
        assert top["selected-by-default"] is (not_by_default(spec) is None), spec.name
        assert re.fullmatch(r"[a-z][a-z0-9_]*s|[a-z_]*(planning|wbs|by_day)", spec.name)


def test_every_stream_full_syncs_the_sandbox_rows_and_an_unchanged_run_costs_a_call_each(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    # every stream of a division is more calls than Exact's 60 a minute: the limit is tested
    # elsewhere, here it would only make the runs wait for the next minute
    sb = sandbox_factory(scale=0.02, divisions=2, minutely_limit=UNTHROTTLED)
    runner = tap_runner(sb)
    divisions = runner.grant["divisions"]

    sb.reset_stats()
    full = runner.run(divisions=divisions, streams=every_stream())
    full_calls = sb.stats()["by_endpoint"]

    assert full.returncode == 0, full.stderr[-3000:]
    for spec in CATALOGUE_SPECS:
        key = spec.key[0]
        for division in divisions:
            rows = {r[key] for r in sb.rows(division, spec.catalogue.url)}
            assert rows, (spec.name, division)
            assert keys(full, spec.name, division, key) == rows, (spec.name, division)

    sb.reset_stats()
    again = runner.run(divisions=divisions, state=full.state, streams=every_stream())

    assert again.returncode == 0, again.stderr[-3000:]
    full_tables = {s.name for s in STREAM_TABLE if s.mode == FULL}
    assert again.streams_with_records() <= {"divisions", *full_tables}
    for name in full_tables:  # read in full again: every row, as before
        assert len(again.records(name)) == len(full.records(name)), name
    stats = sb.stats()
    assert stats["by_status"] == {"200": stats["api_calls"]}
    full_table_paths = {s.path for s in STREAM_TABLE if s.mode == FULL}
    for path, count in stats["by_endpoint"].items():
        if path in ("sync/Deleted", "system/Divisions"):
            assert count <= len(divisions), path
        elif path in full_table_paths:  # every page again, no more
            assert count == full_calls[path], path
        else:
            assert count <= reads_per_endpoint()[path] * len(divisions), (path, count)


def test_an_incremental_run_emits_new_rows_of_sync_and_modified_streams_and_mapped_deletes(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.02, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    streams = ["addresses", "journals", "vat_codes", "projects"]
    first = runner.run(divisions=[division], streams=streams)
    assert first.returncode == 0, first.stderr[-3000:]
    gone = sorted(keys(first, "addresses", division, "ID"))[0]
    client = runner.client()
    address = client.post(division, "crm/Addresses", {"AddressLine1": "Dorpsstraat 1"})
    journal = client.post(division, "financial/Journals", {"Code": "77", "Description": "Kas 2"})
    client.delete(division, f"crm/Addresses(guid'{gone}')")

    second = runner.run(divisions=[division], streams=streams, state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    live = [r for r in second.records("addresses") if not r.get("_sdc_deleted_at")]
    deleted = [r for r in second.records("addresses") if r.get("_sdc_deleted_at")]
    assert [r["ID"] for r in live] == [address["ID"]]
    assert [r["ID"] for r in deleted] == [gone]
    assert [r["ID"] for r in second.records("journals")] == [journal["ID"]]
    assert second.records("vat_codes") == [] and second.records("projects") == []
    assert second.partition("journals", division)["modified_keys"] == {
        journal["ID"]: second.records("journals")[0]["Modified"]
    }


def test_a_module_a_division_lacks_is_skipped_once_remembered_and_retried_on_request(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.02, divisions=2, missing_modules="#2=payroll")
    runner = tap_runner(sb)
    has, lacks = runner.grant["divisions"]
    streams = ["employees", "employments", "journals"]
    payroll = ("sync/Payroll/Employees", "sync/Payroll/Employments")

    first = runner.run(divisions=[has, lacks], streams=streams)

    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    assert UNAVAILABLE_LINE.search(first.stderr)[1] == f"division {lacks}: employees, employments"
    assert first.stderr.count("not available (HTTP 403") == 2
    for stream in ("employees", "employments"):
        assert keys(first, stream, has, "ID"), stream
        assert not keys(first, stream, lacks, "ID")
        assert first.partition(stream, lacks)["unavailable"] == "HTTP 403"
        assert "unfinished" not in first.partition(stream, lacks)
    assert keys(first, "journals", lacks, "ID")
    assert all(sb.stats()["by_endpoint"][path] == 2 for path in payroll)

    sb.reset_stats()
    second = runner.run(divisions=[has, lacks], streams=streams, state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    assert "not available (HTTP 403" not in second.stderr
    assert UNAVAILABLE_LINE.search(second.stderr)[1] == f"division {lacks}: employees, employments"
    assert all(sb.stats()["by_endpoint"][path] == 1 for path in payroll)  # division `has` only
    assert second.partition("employees", lacks)["unavailable"] == "HTTP 403"

    sb.reset_stats()
    retried = runner.run(
        divisions=[has, lacks], streams=streams, state=second.state, retry_unavailable=True
    )

    assert retried.returncode == 0, retried.stderr[-3000:]
    assert all(sb.stats()["by_endpoint"][path] == 2 for path in payroll)
    assert retried.partition("employees", lacks)["unavailable"] == "HTTP 403"
