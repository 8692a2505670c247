"""Settings, unknown streams and schema violations: decided before any write.

Runs with `on_error: fail` point at a closed loopback port, so any API call would fail them
differently: passing proves the target decided before calling Exact. Runs that complete use the
sandbox, because a run that wrote nothing still checks its connection at the end.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.target.singer_run import record, run_target, schema, state

SECRET = "s3cret-client-secret-value"


def _walk(value: object) -> Iterator[tuple[str, object]]:
    """Every (key, value) pair in a nested JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), v
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _config(tmp_path: Path, **extra: object) -> dict:
    return {
        "client_id": "test-client",
        "client_secret": SECRET,
        "refresh_token": "rt-not-used-here-123",
        "base_url": _dead_url(),
        "token_store_path": str(tmp_path / "tokens.json"),
        "division": 1,
        **extra,
    }


def test_bad_on_error_value_is_refused_before_reading_input(tmp_path: Path) -> None:
    run = run_target(tmp_path, _config(tmp_path, on_error="maybe"), [schema("customers")])
    assert run.returncode != 0
    assert "on_error" in run.stderr
    assert SECRET not in run.stderr + run.stdout


def test_bad_base_url_names_the_setting_and_hides_the_secret(tmp_path: Path) -> None:
    run = run_target(
        tmp_path, _config(tmp_path, base_url="http://example.com"), [schema("customers")]
    )
    assert run.returncode == 1
    assert "base_url" in run.stderr
    assert SECRET not in run.stderr + run.stdout


def test_unknown_stream_fails_with_a_clear_error(tmp_path: Path) -> None:
    run = run_target(
        tmp_path,
        _config(tmp_path),
        [schema("purchase_orders"), record("purchase_orders", {"id": 1})],
    )
    assert run.returncode == 1
    assert "stream 'purchase_orders' is not one target-exactonline writes" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_stream_is_ignored_with_a_warning_when_configured(
    tmp_path: Path, target_config: dict
) -> None:
    run = run_target(
        tmp_path,
        {**target_config, "unknown_streams": "ignore"},
        [schema("purchase_orders"), record("purchase_orders", {"id": 1}), state({"bm": 1})],
    )
    assert run.returncode == 0, run.stderr
    assert "ignoring stream 'purchase_orders'" in run.stderr
    assert run.states == [{"bm": 1}]
    assert run.summary["ignored_streams"] == ["purchase_orders"]


def test_schema_violation_is_rejected_with_field_and_stops_under_fail(tmp_path: Path) -> None:
    run = run_target(
        tmp_path,
        _config(tmp_path),
        [
            schema("customers", {"Code": {"type": "string"}, "Name": {"type": "string"}}),
            record("customers", {"Code": "C1", "Name": 42}),
            state({"bm": 1}),
        ],
    )
    assert run.returncode == 1
    assert run.states == []  # the record before this state was not written
    [reject] = run.rejects
    assert reject["stream"] == "customers"
    assert reject["key"] == "C1"
    assert reject["field"] == "Name"
    assert reject["reason"].startswith("schema violation")
    assert reject["record"] == {"Code": "C1", "Name": 42}
    assert "customers record 'C1'" in run.stderr and "field Name" in run.stderr
    assert run.summary["streams"]["customers"]["rejected"] == 1


def test_schema_violation_against_the_input_schema_even_if_declared_loosely(
    tmp_path: Path, target_config: dict
) -> None:
    """A warehouse that declares no types still gets Exact's types checked (IsSales is a bool)."""
    run = run_target(
        tmp_path,
        {**target_config, "on_error": "skip"},
        [
            schema("customers"),
            record("customers", {"Code": "C2", "Name": "Acme", "IsSales": "sometimes"}),
            state({"bm": 2}),
        ],
    )
    assert run.returncode == 0, run.stderr
    assert run.states == [{"bm": 2}]  # rejected counts as settled under skip
    [reject] = run.rejects
    assert reject["field"] == "IsSales"
    assert run.summary["streams"]["customers"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }


def test_attachment_without_file_name_is_a_schema_violation(
    tmp_path: Path, target_config: dict
) -> None:
    run = run_target(
        tmp_path,
        {**target_config, "on_error": "skip"},
        [
            schema("invoice_attachments"),
            record("invoice_attachments", {"invoice_key": "INV-1", "content_base64": "dGVzdA=="}),
        ],
    )
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["stream"] == "invoice_attachments"
    assert reject["field"] == "FileName"


def test_lines_without_their_invoice_are_rejected_not_dropped(
    tmp_path: Path, target_config: dict
) -> None:
    run = run_target(
        tmp_path,
        {**target_config, "on_error": "skip"},
        [
            schema("sales_invoice_lines"),
            record("sales_invoice_lines", {"invoice_key": "INV-9", "Quantity": 1, "LineNumber": 1}),
            state({"bm": 3}),
        ],
    )
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["stream"] == "sales_invoice_lines"
    assert "no sales_invoices record with key 'INV-9'" in reject["reason"]
    assert run.states == [{"bm": 3}]


def test_run_without_writes_still_checks_the_grant_and_never_prints_secrets(
    sandbox, grant: dict, tmp_path: Path
) -> None:
    """What `meltano config test` relies on: nothing to write, but a dead grant still fails."""
    from tests.support.configs import config_for

    config = config_for(sandbox, grant, tmp_path, unknown_streams="ignore")
    sandbox.revoke(grant["client_id"])
    run = run_target(
        tmp_path, config, [schema("meltano_test_stream"), record("meltano_test_stream", {"a": 1})]
    )
    assert run.returncode == 1
    assert "exactonline-auth login" in run.stderr
    assert "Traceback" not in run.stderr
    for secret in (grant["client_secret"], grant["refresh_token"]):
        assert secret not in run.stderr + run.stdout


def test_a_normal_run_logs_no_secret(sandbox, grant: dict, tmp_path: Path) -> None:
    from tests.support.configs import config_for

    config = config_for(sandbox, grant, tmp_path)
    run = run_target(
        tmp_path, config, [schema("customers"), record("customers", {"Code": "SEC1", "Name": "x"})]
    )
    assert run.returncode == 0, run.stderr
    access = json.loads((tmp_path / "tokens.json").read_text())
    secrets = [grant["client_secret"], grant["refresh_token"]]
    stored = [v for k, v in _walk(access) if k in ("access_token", "refresh_token")]
    assert len(stored) == 2 and all(isinstance(v, str) and len(v) > 8 for v in stored)
    for secret in [*secrets, *stored]:
        assert secret not in run.stderr + run.stdout


def test_a_broken_declared_schema_falls_back_to_the_input_schema(
    tmp_path: Path, target_config: dict
) -> None:
    broken = {
        "type": "SCHEMA",
        "stream": "customers",
        "schema": {"type": "object", "properties": {"Name": {"type": "decimalish"}}},
        "key_properties": [],
    }
    run = run_target(
        tmp_path,
        {**target_config, "on_error": "skip"},
        [broken, record("customers", {"Code": "BRK1", "Name": ["not", "a", "string"]})],
    )
    assert run.returncode == 0, run.stderr
    assert "is not valid JSON Schema" in run.stderr
    [reject] = run.rejects
    assert reject["field"] == "Name"


def test_load_method_other_than_upsert_is_refused_before_any_write(tmp_path: Path) -> None:
    """`append-only` (duplicates on re-runs) and `overwrite` (deletes in Exact) are not what
    this target does: asking for them stops the run instead of being silently ignored."""
    for method in ("append-only", "overwrite"):
        run = run_target(
            tmp_path,
            _config(tmp_path, load_method=method),
            [schema("customers"), record("customers", {"Code": "C1", "Name": "X"})],
            method,
        )
        assert run.returncode != 0
        assert "load_method" in run.stderr and method in run.stderr
        assert SECRET not in run.stderr + run.stdout
        assert run.rejects == []


def test_validate_records_false_sets_the_declared_schema_aside_and_keeps_the_target_own(
    sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """`validate_records` (singer-sdk's setting) decides whether records are held to the SCHEMA
    the tap declared; Exact's own types are checked either way (a bad value is never sent)."""
    tag = uuid.uuid4().hex[:6].upper()
    declared = schema(
        "customers", {"Code": {"type": "string"}, "Name": {"type": "string", "maxLength": 3}}
    )
    long_name = record("customers", {"Code": f"VR1{tag}", "Name": "Bakkerij de Vries"})
    bad_type = record("customers", {"Code": f"VR2{tag}", "Name": "Ok", "IsSales": "sometimes"})
    config = {**target_config, "on_error": "skip"}

    checked = run_target(tmp_path, config, [declared, long_name, bad_type], name="checked")
    assert checked.returncode == 0, checked.stderr
    assert [(r["key"], r["field"]) for r in checked.rejects] == [
        (f"VR1{tag}", "Name"),
        (f"VR2{tag}", "IsSales"),
    ]

    unchecked = run_target(
        tmp_path,
        {**config, "validate_records": False},
        [declared, long_name, bad_type],
        name="unchecked",
    )
    assert unchecked.returncode == 0, unchecked.stderr
    assert [(r["key"], r["field"]) for r in unchecked.rejects] == [(f"VR2{tag}", "IsSales")]
    names = {str(r["Code"]).strip(): r["Name"] for r in sandbox.rows(division, "crm/Accounts")}
    assert names[f"VR1{tag}"] == "Bakkerij de Vries"
    assert f"VR2{tag}" not in names
