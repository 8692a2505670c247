"""`exactonline-auth`: login through a real consent page in headless Chromium, and status."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from exactonline_api.client import ExactClient
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.support.output import (
    WRONG_TYPED_SECRETS,
    assert_never_printed,
    assert_one_error_line,
    secret_values,
)
from tests.support.secrets import assert_no_secret, store_secrets

AUTH = str(Path(sys.executable).with_name("exactonline-auth"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_auth(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AUTH, *args], capture_output=True, text=True, timeout=timeout)


def write_config(path: Path, **config: Any) -> Path:
    path.write_text(json.dumps(config))
    return path


def grant_config(sandbox: Sandbox, grant: dict, store: Path) -> Path:
    """A config file beside `store` with the grant's settings, as `exactonline-auth --config` reads."""
    settings = config_for(sandbox, grant, store.parent, division=None, token_store_path=str(store))
    return write_config(store.with_name("config.json"), **settings)


def test_status_shows_store_divisions_expiry_and_budget_without_secrets(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    config = grant_config(sandbox, grant, store)
    done = run_auth("status", "--config", str(config))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Token store: file {store}" in out
    for code in grant["divisions"]:
        assert re.search(rf"^\s+{code}\b", out, re.M), out
    assert "Access token: valid until" in out
    current, other = grant["divisions"]
    assert re.search(
        rf"^\s+{current}\b.*\n\s+rate limit: minutely \d+/60 left .* daily \d+/5000 left", out, re.M
    ), out
    assert re.search(rf"^\s+{other}\b.*\n\s+rate limit: not known yet", out, re.M), out
    assert_no_secret([out, done.stderr], [grant["client_secret"], *store_secrets(store)])


def test_status_shows_the_budget_of_every_division_called_through_the_store(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    config = grant_config(sandbox, grant, store)
    other = grant["divisions"][1]
    with ExactClient(ClientSettings.from_config(json.loads(config.read_text()))) as client:
        for _ in range(3):
            client.get(other, "crm/Accounts", {"$select": "ID", "$top": 1})
    done = run_auth("status", "--config", str(config))
    assert done.returncode == 0, done.stderr
    for code in grant["divisions"]:
        assert re.search(
            rf"^\s+{code}\b.*\n\s+rate limit: minutely \d+/60 left .* daily \d+/5000",
            done.stdout,
            re.M,
        ), done.stdout
    left = re.search(rf"^\s+{other}\b.*\n\s+rate limit: minutely (\d+)/60", done.stdout, re.M)
    assert left and int(left.group(1)) <= 57


def test_status_without_any_grant_says_to_log_in(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    done = run_auth(
        "status",
        "--client-id",
        grant["client_id"],
        f"--client-secret={grant['client_secret']}",  # a secret may start with "-"
        "--base-url",
        sandbox.url,
        "--token-store-path",
        str(tmp_path / "none.json"),
    )
    assert done.returncode == 1
    assert "exactonline-auth login" in done.stdout


def test_a_bad_setting_is_named_and_exits_2(tmp_path: Path) -> None:
    done = run_auth(
        "status", "--client-id", "x", "--client-secret", "y" * 8, "--base-url", "ftp://h"
    )
    assert done.returncode == 2
    assert "'base_url'" in done.stderr


# -- login in a real browser -------------------------------------------------------------------


class Login:
    """A running `exactonline-auth login --no-browser` and the URL it printed."""

    def __init__(self, sb: Sandbox, app: dict, store: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                AUTH,
                "login",
                "--no-browser",
                "--base-url",
                sb.url,
                "--redirect-uri",
                "http://127.0.0.1:0/callback",
                "--client-id",
                app["client_id"],
                f"--client-secret={app['client_secret']}",
                "--token-store-path",
                str(store),
                "--timeout",
                "120",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.head: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.head.append(line)
            if line.startswith("Open this URL to authorize: "):
                self.url = line.removeprefix("Open this URL to authorize: ").strip()
                break
        else:
            raise AssertionError(f"no URL printed: {self.head} {self.proc.stderr.read()}")
        query = parse_qs(urlsplit(self.url).query)
        self.redirect_uri = query["redirect_uri"][0]
        self.state = query["state"][0]

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, "".join(self.head) + out, err


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def consent(browser: Any, url: str, button: str) -> str:
    """Log in as the sandbox user and press Approve or Deny; the callback page's title."""
    page = browser.new_page()
    try:
        page.goto(url)
        page.fill("#username", "demo")
        page.fill("#password", "demo")
        page.click(f"#{button}")
        page.wait_for_selector("#title")
        return page.inner_text("#title")
    finally:
        page.close()


@pytest.fixture
def app(sandbox: Sandbox) -> dict:
    """A registered app whose credentials the user types into `exactonline-auth login`."""
    return sandbox.grant()


@pytest.mark.browser
def test_login_in_chromium_stores_a_working_grant_and_prints_no_secret(
    sandbox: Sandbox, app: dict, browser: Any, tmp_path: Path
) -> None:
    store = tmp_path / "state" / "tokens.json"
    login = Login(sandbox, app, store)
    assert login.url.startswith(f"{sandbox.url}/api/oauth2/auth?")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", login.redirect_uri)
    assert not login.redirect_uri.endswith(":0/callback"), "port 0 became a real port"
    assert consent(browser, login.url, "approve") == "Authorized"
    code, out, err = login.finish()
    assert code == 0, err
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert f"client_id: {app['client_id']}" in out
    assert f"token_store_path: {store}" in out
    assert "Signed in as" in out
    assert_no_secret([out, err], [app["client_secret"], *store_secrets(store)])
    assert json.loads(store.read_text())["source"] == "login"
    # the tap's and target's config needs no refresh token; a stale one left in it is ignored
    config = write_config(
        tmp_path / "config.json",
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        refresh_token=app["refresh_token"] + "-stale",
        base_url=sandbox.url,
        token_store_path=str(store),
    )
    status = run_auth("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    for division in app["divisions"]:
        assert re.search(rf"^\s+{division}\b", status.stdout, re.M)
    assert_no_secret([status.stdout, status.stderr], [app["client_secret"], *store_secrets(store)])


@pytest.mark.browser
def test_login_with_show_refresh_token_prints_the_stored_token(
    sandbox: Sandbox, app: dict, browser: Any, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    login = Login(sandbox, app, store, "--show-refresh-token")
    consent(browser, login.url, "approve")
    code, out, err = login.finish()
    assert code == 0, err
    assert f"refresh_token: {json.loads(store.read_text())['refresh_token']}" in out
    assert_no_secret([out, err], [app["client_secret"]])


@pytest.mark.browser
def test_deny_in_chromium_ends_the_login_without_a_grant(
    sandbox: Sandbox, app: dict, browser: Any, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    login = Login(sandbox, app, store)
    assert consent(browser, login.url, "deny") == "Authorization denied"
    code, out, err = login.finish()
    assert code == 1
    assert "access_denied" in err
    assert not store.exists()


@pytest.mark.browser
def test_a_forged_callback_with_a_wrong_state_is_refused(
    sandbox: Sandbox, app: dict, browser: Any, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    login = Login(sandbox, app, store)
    before = sandbox.stats()["token_calls"]
    forged = requests.get(
        login.redirect_uri, params={"code": "forged-code", "state": "wrong"}, timeout=10
    )
    assert forged.status_code == 400
    missing = requests.get(login.redirect_uri, params={"code": "forged-code"}, timeout=10)
    assert missing.status_code == 400
    assert sandbox.stats()["token_calls"] == before, "no forged code was exchanged"
    # the real answer still completes the login
    assert consent(browser, login.url, "approve") == "Authorized"
    code, out, err = login.finish()
    assert code == 0, err
    assert err.count("refused a callback with a missing or wrong state") == 2
    assert "forged-code" not in out + err
    assert json.loads(store.read_text())["source"] == "login"


# -- start-up errors ---------------------------------------------------------------------------


def test_a_token_store_holding_a_json_list_is_one_line(tmp_path: Path) -> None:
    store = tmp_path / "tokens.json"
    store.write_text(json.dumps(["tok-in-a-list-4a5b6c"]))
    done = run_auth(
        "status",
        *("--client-id", "app-1", "--client-secret", "a-client-secret-771"),
        *("--base-url", "http://127.0.0.1:9", "--token-store-path", str(store)),
    )
    assert done.returncode == 2
    assert_one_error_line(
        done.stderr,
        "exactonline-auth",
        "ConfigError",
        "is not a valid token store (it holds a list, not a JSON object)",
    )
    assert_never_printed([done.stdout, done.stderr], ["tok-in-a-list-4a5b6c"])


@pytest.mark.parametrize(
    "secrets",
    WRONG_TYPED_SECRETS,
    ids=lambda c: "-".join(type(v).__name__ for v in c.values()),
)
def test_a_secret_of_the_wrong_type_in_the_config_file_is_never_printed(
    tmp_path: Path, secrets: dict[str, Any]
) -> None:
    config = write_config(
        tmp_path / "config.json",
        client_id="app-1",
        base_url="http://127.0.0.1:9",
        token_store_path=str(tmp_path / "tokens.json"),
        **secrets,
    )
    done = run_auth("status", "--config", str(config), "--verbose")
    assert done.returncode == 2
    assert_one_error_line(
        done.stderr, "exactonline-auth", "ConfigError", "'client_secret': must be a string"
    )
    assert_never_printed([done.stdout, done.stderr], secret_values(secrets))


@pytest.mark.browser
def test_login_and_status_use_a_shared_postgres_store_and_never_print_its_password(
    sandbox: Sandbox, app: dict, browser: Any, postgres: Any, tmp_path: Path
) -> None:
    unused = tmp_path / "login-machine" / "tokens.json"
    login = Login(sandbox, app, unused, "--token-store-url", postgres.url)
    assert consent(browser, login.url, "approve") == "Authorized"
    code, out, err = login.finish()
    assert code == 0, err
    assert "The grant is stored in PostgreSQL postgresql://warehouse:[REDACTED]@127.0.0.1:" in out
    assert "token_store_url: the same URL" in out
    assert not unused.exists()  # the grant went to the database only
    rows = postgres.psql("SELECT grant_user, state->>'source' FROM exactonline_grants")
    assert rows == [("default", "login")]
    # status on another machine: the URL from the environment, no refresh token anywhere
    status = subprocess.run(
        [AUTH, "status", "--client-id", app["client_id"], "--base-url", sandbox.url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={
            **os.environ,
            "HOME": str(tmp_path / "status-machine"),
            "EXACTONLINE_CLIENT_SECRET": app["client_secret"],
            "EXACTONLINE_TOKEN_STORE_URL": postgres.url,
        },
    )
    assert status.returncode == 0, status.stderr
    assert "Token store: PostgreSQL postgresql://warehouse:[REDACTED]@" in status.stdout
    for division in app["divisions"]:
        assert re.search(rf"^\s+{division}\b", status.stdout, re.M)
    tokens = postgres.psql(
        "SELECT state->>'refresh_token', state->>'access_token' FROM exactonline_grants"
    )
    assert_no_secret(
        [out, err, status.stdout, status.stderr],
        [app["client_secret"], postgres.password, *(t for row in tokens for t in row if t)],
    )
