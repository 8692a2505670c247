"""The target's start-up through its command line: a misspelt setting stops the run before any
write (`divison` would have written to the user's current division), no secret is printed
whatever its type, and an expected error is reported as one line, not a traceback."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.support.output import (
    BOOL_LOOKING_SECRETS,
    WRONG_TYPED_SECRETS,
    assert_never_printed,
    assert_one_error_line,
    secret_values,
)
from tests.target.singer_run import record, run_target, schema, state

CUSTOMER = [
    schema("customers", {"Code": {"type": "string"}, "Name": {"type": "string"}}),
    record("customers", {"Code": "START1", "Name": "Start-up test"}),
    state({"bm": 1}),
]


def dead_url() -> str:
    """A loopback URL nobody listens on: a run that passes must have decided before calling."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def calls(sb: Sandbox) -> int:
    """Every call the sandbox has answered: API and token endpoint."""
    stats = sb.stats()
    return stats["api_calls"] + stats["token_calls"]


def offline_config(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return {
        "client_id": "app-startup-test",
        "client_secret": "a-client-secret-771",
        "refresh_token": "a-refresh-token-662",
        "base_url": dead_url(),
        "token_store_path": str(tmp_path / "tokens.json"),
        "division": 1,
        **settings,
    }


@pytest.mark.parametrize(
    "secrets",
    WRONG_TYPED_SECRETS,
    ids=lambda c: "-".join(type(v).__name__ for v in c.values()),
)
def test_a_secret_of_the_wrong_type_is_never_printed(
    tmp_path: Path, secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGET_EXACTONLINE_LOGLEVEL", "DEBUG")
    run = run_target(tmp_path, offline_config(tmp_path, **secrets), CUSTOMER)
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr, "target-exactonline", "ConfigError", "'client_secret': must be a string"
    )
    assert run.states == [] and run.rejects == []
    assert_never_printed([run.stdout, run.stderr], secret_values(secrets))


def test_secrets_that_read_like_booleans_are_never_printed(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    """Valid strings, so they reach Exact, which refuses them: its refusal must not quote them."""
    config = config_for(sandbox, grant, tmp_path, **BOOL_LOOKING_SECRETS)
    run = run_target(tmp_path, config, CUSTOMER)
    assert run.returncode == 1
    assert_one_error_line(run.stderr, "target-exactonline", "ConfigError", "'client_secret'")
    assert_never_printed([run.stdout, run.stderr], BOOL_LOOKING_SECRETS.values())


def test_a_misspelt_division_stops_the_run_before_anything_is_written(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    config = config_for(sandbox, grant, tmp_path)
    config["divison"] = config.pop("division")  # without the check: the current division
    config["on_eror"] = "skip"
    before = calls(sandbox)
    run = run_target(tmp_path, config, CUSTOMER)
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr,
        "target-exactonline",
        "ConfigError",
        "setting 'divison': is not a setting of target-exactonline (did you mean 'division'?)",
        "setting 'on_eror': is not a setting of target-exactonline (did you mean 'on_error'?)",
    )
    assert calls(sandbox) == before  # not even a token refresh
    assert run.states == [] and run.rejects == []
    for division in grant["divisions"]:
        assert not [r for r in sandbox.rows(division, "crm/Accounts") if r["Code"] == "START1"]


@pytest.mark.parametrize("which", ["unknown", "other reachable"])
def test_a_division_the_grant_cannot_reach_stops_the_run_before_any_call_to_it(
    sandbox: Sandbox, grant: dict, tmp_path: Path, which: str
) -> None:
    """Checked against system/Divisions (listed through the user's current division): a 403
    from the division itself would count towards Exact's error limit and not name the setting.
    A division the grant does reach, other than the current one, passes the same check."""
    division = 999999 if which == "unknown" else grant["divisions"][1]
    config = config_for(sandbox, grant, tmp_path, division=division)
    code = f"REACH{uuid.uuid4().hex[:8].upper()}"
    sandbox.reset_stats()
    run = run_target(
        tmp_path, config, [CUSTOMER[0], record("customers", {"Code": code, "Name": "R"})]
    )
    by_division = sandbox.stats()["by_division"]
    if which == "unknown":
        assert run.returncode == 1
        assert_one_error_line(
            run.stderr,
            "target-exactonline",
            "ConfigError",
            "setting 'division': division 999999 is not reachable with this grant",
            f"which lists {', '.join(map(str, sorted(grant['divisions'])))}",
            "nothing was written",
        )
        assert "999999" not in by_division  # no call to it at all
        assert run.states == [] and run.rejects == []
    else:
        assert run.returncode == 0, run.stderr[-3000:]
        assert [r for r in sandbox.rows(division, "crm/Accounts") if r["Code"].strip() == code]
    assert sandbox.stats()["by_endpoint"]["system/Divisions"] == 1


def test_every_setting_of_the_sdk_capabilities_is_accepted(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    """Stream maps, flattening, record metadata, batch size, validation, load method: settings
    of singer-sdk, not typos."""
    sdk_settings = {
        "stream_maps": {"customers": {"Name": "Name + ' (mapped)'"}},
        "stream_map_config": {"suffix": "!"},
        "faker_config": {"seed": 1, "locale": "nl_NL"},
        "flattening_enabled": False,
        "flattening_max_depth": 1,
        "flattening_max_key_length": 60,
        "flattening_separator": "__",
        "add_record_metadata": False,
        "batch_size_rows": 100,
        "validate_records": True,
        "load_method": "upsert",
    }
    config = config_for(sandbox, grant, tmp_path, **sdk_settings)
    run = run_target(tmp_path, config, CUSTOMER)
    assert run.returncode == 0, run.stderr[-3000:]
    [row] = [
        r
        for r in sandbox.rows(grant["divisions"][0], "crm/Accounts")
        if r["Code"].strip() == "START1"
    ]
    assert row["Name"] == "Start-up test (mapped)"


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        ({"division": "146278x"}, "'division': must be a whole number, got '146278x'"),
        ({"division": 0}, "'division': must be at least 1, got 0"),
        ({"on_error": "maybe"}, "'on_error': must be one of 'fail', 'skip', got 'maybe'"),
        ({"prefetch_threshold": -1}, "'prefetch_threshold': must be at least 0, got -1"),
        ({"region": "UK", "base_url": None}, "'region': must be one of 'nl', "),
        (
            {"refresh_token": None, "token_store_path": "{tmp}/none.json"},
            "'refresh_token': is not set and the token store",
        ),
    ],
    ids=["division type", "division bound", "on_error", "prefetch", "region", "no grant"],
)
def test_a_settings_error_is_one_line(tmp_path: Path, settings: dict, phrase: str) -> None:
    settings = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in settings.items()}
    run = run_target(tmp_path, offline_config(tmp_path, **settings), CUSTOMER)
    assert run.returncode == 1
    assert_one_error_line(run.stderr, "target-exactonline", "ConfigError", phrase)
    assert run.states == []


def test_a_token_store_holding_a_json_list_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps(["tok-in-a-list-4a5b6c"]))
    run = run_target(tmp_path, offline_config(tmp_path), CUSTOMER)
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr,
        "target-exactonline",
        "ConfigError",
        "'token_store_path'",
        "is not a valid token store (it holds a list, not a JSON object)",
    )
    assert run.states == []
    assert_never_printed([run.stderr], ["tok-in-a-list-4a5b6c"])


def test_an_expired_grant_is_one_line(sandbox: Sandbox, grant: dict, tmp_path: Path) -> None:
    config = config_for(sandbox, grant, tmp_path)
    sandbox.revoke(grant["client_id"])
    run = run_target(tmp_path, config, CUSTOMER)
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr, "target-exactonline", "AuthExpiredError", "run `exactonline-auth login`"
    )
    assert run.states == []
    assert_never_printed([run.stdout, run.stderr], [grant["client_secret"], grant["refresh_token"]])
