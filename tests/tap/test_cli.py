"""The tap's command line: offline discovery and --about, settings, stream maps, flattening,
the default division, and secrets kept out of the logs."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from exactonline_api.entities import entity
from exactonline_sandbox.harness import Sandbox
from tap_exactonline.streams import STREAM_TABLE
from tests.support.tap_runner import TAP, TapRunner

STREAMS = {spec.name for spec in STREAM_TABLE} | {"divisions"}


def test_discover_needs_no_config_no_credentials_and_no_network(tmp_path: Path) -> None:
    # no --config at all, and a base_url nobody listens on when one is given
    bare = subprocess.run(
        [str(TAP), "--discover"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert bare.returncode == 0, bare.stderr[-2000:]
    catalog = json.loads(bare.stdout)
    by_name = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(by_name) == STREAMS
    assert by_name["customers"]["key_properties"] == ["ID"]
    assert by_name["sales_invoices"]["key_properties"] == ["InvoiceID"]
    assert by_name["sales_orders"]["key_properties"] == ["OrderID"]
    assert by_name["divisions"]["key_properties"] == ["Code"]
    assert by_name["transaction_lines"]["replication_key"] == "Timestamp"
    assert by_name["divisions"]["replication_method"] == "FULL_TABLE"
    # every property is a catalogue field of its endpoint, plus Division and _sdc_deleted_at
    for spec in STREAM_TABLE:
        props = by_name[spec.name]["schema"]["properties"]
        known = set(entity(spec.entity).field_names) | {"Division", "_sdc_deleted_at"}
        assert set(props) <= known, spec.name
        assert ("_sdc_deleted_at" in props) == bool(spec.deleted_types), spec.name
    customers = by_name["customers"]["schema"]["properties"]
    assert customers["Modified"] == {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "Last modified date",
    }
    assert customers["CreditLineSales"]["type"] == ["number", "null"]
    assert customers["Timestamp"]["type"] == ["integer", "null"]
    assert customers["IsSales"]["type"] == ["boolean", "null"]


def test_about_documents_every_setting(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(TAP), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for setting in (
        "client_id",
        "client_secret",
        "refresh_token",
        "region",
        "base_url",
        "token_store_path",
        "token_store_url",
        "grant_user",
        "user_agent",
        "divisions",
        "start_date",
        "deletes",
    ):
        assert f"| {setting} |" in out.stdout, setting
    assert "`all`" in out.stdout


def test_stream_maps_and_flattening_apply_to_extracted_records(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    runner = tap_runner(sandbox)
    division = runner.grant["divisions"][0]
    run = runner.run(
        divisions=[division],
        streams=["gl_accounts"],
        stream_maps={
            "gl_accounts": {"__alias__": "ledger", "Code": "Code + '!'", "Description": None}
        },
        flattening_enabled=True,
        flattening_max_depth=1,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.records("gl_accounts") == []
    ledger = run.records("ledger")
    assert ledger and all(r["Code"].endswith("!") for r in ledger)
    assert all("Description" not in r for r in ledger)


def test_default_division_is_the_users_current_one_and_secrets_stay_out_of_logs(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    runner = tap_runner(sandbox)
    before = sandbox.stats()["by_endpoint"].get("current/Me", 0)
    run = runner.run(streams=["items"])
    assert run.returncode == 0, run.stderr[-3000:]
    assert sandbox.stats()["by_endpoint"].get("current/Me", 0) == before + 1
    divisions = {r["Division"] for r in run.records("items")}
    assert len(divisions) == 1
    (current,) = divisions
    assert current in runner.grant["divisions"]
    assert [p["context"] for p in run.state["bookmarks"]["items"]["partitions"]] == [
        {"Division": current}
    ]
    for secret in (runner.grant["client_secret"], runner.grant["refresh_token"]):
        assert secret not in run.stderr
        assert secret not in json.dumps(run.messages)
    assert "items division" in run.stderr and "daily budget left" in run.stderr


def test_progress_lines_count_in_plain_words(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    run = tap_runner(sandbox).run(streams=["items"])  # one page of items: one call
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(x for x in run.stderr.splitlines() if "items division" in x)
    assert re.search(r"\d+ records emitted, \d+ rows read in 1 call; \d+ calls? to division", line)
    assert not re.search(r"\b1 (calls|records|rows)\b", run.stderr), line
