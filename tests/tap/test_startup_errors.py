"""The tap's start-up through its command line: settings checked before any call, a misspelt name
refused with the closest known one, no secret printed whatever its type, and an expected error
(a setting, an expired grant, a broken token store) reported as one line, not a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tests.support.output import (
    BOOL_LOOKING_SECRETS,
    WRONG_TYPED_SECRETS,
    assert_never_printed,
    assert_one_error_line,
    secret_values,
)
from tests.support.tap_runner import TAP, TapRunner


def dead_url() -> str:
    """A loopback URL nobody listens on: a run that passes must have decided before calling."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def run_tap(
    tmp_path: Path, config: dict[str, Any], *args: str, loglevel: str = "INFO"
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}.json"
    path.write_text(json.dumps(config))
    env = {**os.environ, "TAP_EXACTONLINE_LOGLEVEL": loglevel}
    return subprocess.run(
        [str(TAP), "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def offline_config(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return {
        "client_id": "app-startup-test",
        "client_secret": "a-client-secret-771",
        "refresh_token": "a-refresh-token-662",
        "base_url": dead_url(),
        "token_store_path": str(tmp_path / "tokens.json"),
        **settings,
    }


@pytest.mark.parametrize(
    "secrets", WRONG_TYPED_SECRETS, ids=lambda c: "-".join(type(v).__name__ for v in c.values())
)
def test_a_secret_of_the_wrong_type_is_never_printed(
    tmp_path: Path, secrets: dict[str, Any]
) -> None:
    config = offline_config(tmp_path, **secrets)
    discover = run_tap(tmp_path, config, "--discover", loglevel="DEBUG")
    assert discover.returncode == 0, discover.stderr[-3000:]  # discovery needs no settings
    sync = run_tap(tmp_path, config, loglevel="DEBUG")
    assert sync.returncode == 1
    assert_one_error_line(
        sync.stderr, "tap-exactonline", "ConfigError", "'client_secret': must be a string"
    )
    outputs = [discover.stdout, discover.stderr, sync.stdout, sync.stderr]
    assert_never_printed(outputs, secret_values(secrets))


def test_secrets_that_read_like_booleans_are_never_printed(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    """Valid strings, so they reach Exact, which refuses them: its refusal must not quote them."""
    runner = tap_runner(sandbox)
    run = runner.run(
        streams=["items"], divisions=[runner.grant["divisions"][0]], **BOOL_LOOKING_SECRETS
    )
    assert run.returncode == 1
    assert_one_error_line(run.stderr, "tap-exactonline", "ConfigError", "'client_secret'")
    assert_never_printed([run.stderr, json.dumps(run.messages)], BOOL_LOOKING_SECRETS.values())


def test_tokens_of_the_wrong_type_in_the_token_store_are_never_printed(tmp_path: Path) -> None:
    config = offline_config(tmp_path)
    refresh, access = ["tok-store-list-8c9d0e"], 77777777777
    (tmp_path / "tokens.json").write_text(
        json.dumps(
            {
                "version": 1,
                "client_id": config["client_id"],
                "base_url": config["base_url"],
                "refresh_token": refresh,
                "access_token": access,
            }
        )
    )
    run = run_tap(tmp_path, config, loglevel="DEBUG")
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr, "tap-exactonline", "ConfigError", "'token_store_path'", "not a string"
    )
    assert_never_printed([run.stdout, run.stderr], [refresh, access])


def test_a_misspelt_setting_is_refused_with_the_closest_known_name(tmp_path: Path) -> None:
    config = offline_config(
        tmp_path, divison=[146278], strat_date="2024-01-01", Deletes=False, colour="blue"
    )
    run = run_tap(tmp_path, config)
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr,
        "tap-exactonline",
        "ConfigError",
        "setting 'divison': is not a setting of tap-exactonline (did you mean 'divisions'?)",
        "setting 'strat_date': is not a setting of tap-exactonline (did you mean 'start_date'?)",
        "setting 'Deletes': is not a setting of tap-exactonline (did you mean 'deletes'?)",
        "setting 'colour': is not a setting of tap-exactonline (`tap-exactonline --about`",
    )
    assert run.stdout == ""  # nothing was read


def test_every_setting_of_the_sdk_capabilities_is_accepted(tmp_path: Path) -> None:
    """Stream maps, flattening, batches: settings of singer-sdk, not typos."""
    sdk_settings = {
        "stream_maps": {"items": {"Code": "Code + '!'"}},
        "stream_map_config": {"suffix": "!"},
        "faker_config": {"seed": 1, "locale": "nl_NL"},
        "flattening_enabled": True,
        "flattening_max_depth": 1,
        "flattening_max_key_length": 60,
        "flattening_separator": "__",
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
        },
    }
    about = subprocess.run(
        [str(TAP), "--about", "--format=json"], capture_output=True, text=True, timeout=60
    )
    assert set(sdk_settings) <= set(json.loads(about.stdout)["settings"]["properties"])
    # `--test=schema` checks the settings as strictly as a sync, then writes the schemas only.
    run = run_tap(tmp_path, offline_config(tmp_path, **sdk_settings), "--test=schema")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "is not a setting" not in run.stderr
    assert '"type":"SCHEMA"' in run.stdout.replace(" ", "")


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        ({"base_url": "http://example.com"}, "'base_url': plain http is only allowed on loopback"),
        ({"divisions": "[1, 2"}, "'divisions': is not a JSON list of division codes"),
        ({"start_date": "last tuesday"}, "'start_date': must be an ISO-8601 date"),
        ({"deletes": "sometimes"}, "'deletes': must be true or false, got 'sometimes'"),
        (
            {"refresh_token": None, "token_store_path": "{tmp}/none.json"},
            "'refresh_token': is not set and the token store",
        ),
    ],
    ids=["base_url", "divisions", "start_date", "deletes", "no grant"],
)
def test_a_settings_error_is_one_line(tmp_path: Path, settings: dict, phrase: str) -> None:
    settings = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in settings.items()}
    run = run_tap(tmp_path, offline_config(tmp_path, **settings))
    assert run.returncode == 1
    assert_one_error_line(run.stderr, "tap-exactonline", "ConfigError", phrase)


def test_a_token_store_holding_a_json_list_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps(["tok-in-a-list-4a5b6c"]))
    run = run_tap(tmp_path, offline_config(tmp_path))
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr,
        "tap-exactonline",
        "ConfigError",
        "'token_store_path'",
        "is not a valid token store (it holds a list, not a JSON object)",
        "exactonline-auth login",
    )
    assert run.stdout == ""  # stopped before the first stream began
    assert_never_printed([run.stderr], ["tok-in-a-list-4a5b6c"])


def test_an_expired_grant_is_one_line_without_the_sdk_crash_line(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    """Found on the first call, inside a stream: singer-sdk's "An unhandled error occurred while
    syncing" would precede it, as if the tap had crashed."""
    runner = tap_runner(sandbox)
    sandbox.revoke(runner.grant["client_id"])
    run = runner.run(streams=["items"], divisions=[runner.grant["divisions"][0]])
    assert run.returncode == 1
    assert_one_error_line(
        run.stderr, "tap-exactonline", "AuthExpiredError", "run `exactonline-auth login`"
    )
    assert_never_printed(
        [run.stderr], [runner.grant["client_secret"], runner.grant["refresh_token"]]
    )
