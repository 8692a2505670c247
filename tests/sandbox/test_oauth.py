"""OAuth2 of the sandbox, driven over HTTP exactly as a client would (section 2 of the facts)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from exactonline_sandbox.harness import Sandbox

REDIRECT = "http://127.0.0.1:8765/callback"


def token_call(
    sb: Sandbox, data: dict[str, str], auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(f"{sb.url}/api/oauth2/token", data=data, auth=auth, timeout=30)


def refresh(sb: Sandbox, grant: dict[str, Any], *, basic: bool = False) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    if basic:
        return token_call(sb, data, auth=(grant["client_id"], grant["client_secret"]))
    data.update(client_id=grant["client_id"], client_secret=grant["client_secret"])
    return token_call(sb, data)


def consent(
    sb: Sandbox, client_id: str, redirect_uri: str = REDIRECT, **form: str
) -> requests.Response:
    data = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": "st@te 1",
        "username": "demo",
        "password": "demo",
        "action": "approve",
    }
    data.update(form)
    return requests.post(f"{sb.url}/api/oauth2/auth", data=data, allow_redirects=False, timeout=30)


def code_from(resp: requests.Response) -> str:
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["st@te 1"]
    return query["code"][0]


@pytest.fixture(scope="module")
def clocked() -> Iterator[Sandbox]:
    """This module's own sandbox: its tests move the clock, which the shared one must not see."""
    with Sandbox(scale=0.02, divisions=1, token_lifetime=600, refresh_window=30) as sb:
        yield sb


# -- token endpoint: refresh_token grant ------------------------------------------------------
def test_refresh_with_body_credentials_answers_exact_token_shape(
    sandbox: Sandbox, grant: dict
) -> None:
    resp = refresh(sandbox, grant)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "600"  # a STRING, as Exact sends it
    assert body["refresh_token"] != grant["refresh_token"]
    assert "!" in body["refresh_token"] and "!" in body["access_token"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_refresh_with_http_basic_credentials(sandbox: Sandbox, grant: dict) -> None:
    resp = refresh(sandbox, grant, basic=True)
    assert resp.status_code == 200
    assert resp.json()["expires_in"] == "600"


def test_basic_credentials_are_form_url_decoded(sandbox: Sandbox) -> None:
    grant = sandbox.grant(client_id="app with space", client_secret="s3cr+t:x")
    pair = "app+with+space:s3cr%2Bt%3Ax"  # RFC 6749 2.3.1 encodes before Basic
    header = "Basic " + base64.b64encode(pair.encode()).decode()
    resp = requests.post(
        f"{sandbox.url}/api/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        headers={"Authorization": header},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text


def test_refresh_tokens_rotate_and_the_old_one_is_dead(sandbox: Sandbox, grant: dict) -> None:
    old = dict(grant)
    assert refresh(sandbox, grant).status_code == 200
    before = sandbox.stats()["token_errors"].get("Old refresh token used", 0)
    resp = refresh(sandbox, old)
    assert resp.status_code == 401
    assert resp.json() == {
        "error": "unauthorized_client",
        "error_description": "Old refresh token used.",
    }
    assert sandbox.stats()["token_errors"]["Old refresh token used"] == before + 1


def test_unencoded_refresh_token_is_refused(sandbox: Sandbox, grant: dict) -> None:
    """Tokens carry `+`, `/` and `!`: a client that does not form-encode them breaks."""
    raw = (
        f"grant_type=refresh_token&refresh_token={grant['refresh_token']}"
        f"&client_id={grant['client_id']}&client_secret={grant['client_secret']}"
    )
    resp = requests.post(
        f"{sandbox.url}/api/oauth2/token",
        data=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert resp.status_code == 400
    assert refresh(sandbox, grant).status_code == 200  # the properly encoded one still works


def test_wrong_client_secret_answers_bare_invalid_request(sandbox: Sandbox, grant: dict) -> None:
    bad = dict(grant, client_secret="not-the-secret")
    before = sandbox.stats()["token_errors"].get("invalid_client", 0)
    resp = refresh(sandbox, bad)
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_request"}
    assert sandbox.stats()["token_errors"]["invalid_client"] == before + 1


def test_unknown_client_id_answers_bare_invalid_request(sandbox: Sandbox, grant: dict) -> None:
    resp = refresh(sandbox, dict(grant, client_id="{00000000-0000-0000-0000-000000000000}"))
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_request"}


def test_unsupported_grant_type_is_refused(sandbox: Sandbox, grant: dict) -> None:
    resp = token_call(
        sandbox,
        {
            "grant_type": "password",
            "client_id": grant["client_id"],
            "client_secret": grant["client_secret"],
        },
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "unsupported_grant_type"


def test_early_refresh_is_refused_until_the_last_30_seconds(clocked: Sandbox) -> None:
    grant = clocked.grant()
    first = refresh(clocked, grant)  # a new grant has no access token yet: allowed
    assert first.status_code == 200
    grant["refresh_token"] = first.json()["refresh_token"]
    early = refresh(clocked, grant)
    assert early.status_code == 401
    assert "Access Token not expired" in early.json()["error_description"]
    assert clocked.stats()["token_errors"]["Access Token not expired"] >= 1
    clocked.advance_clock(560)  # 10 s before the refresh window opens
    assert refresh(clocked, grant).status_code == 401
    clocked.advance_clock(11)  # inside the last 30 s of 600
    ok = refresh(clocked, grant)
    assert ok.status_code == 200, ok.text


def test_early_refresh_answer_flag_gives_the_rate_limit_reading(sandbox_factory: Any) -> None:
    sb = sandbox_factory(early_refresh_answer="400", divisions=1, scale=0.02)
    grant = sb.grant()
    first = refresh(sb, grant)
    assert first.status_code == 200
    grant["refresh_token"] = first.json()["refresh_token"]
    early = refresh(sb, grant)
    assert early.status_code == 400
    assert early.json()["error_description"] == "Rate limit exceeded: access_token not expired"
    # the same refusal, counted the same way, whichever reading is served
    assert sb.stats()["token_errors"]["Access Token not expired"] == 1
    sb.advance_clock(571)  # inside the last 30 s of 600: allowed again
    assert refresh(sb, grant).status_code == 200


def test_an_unknown_early_refresh_answer_stops_the_server_with_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "exactonline_sandbox", "serve", "--early-refresh-answer", "418"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert b"--early-refresh-answer: invalid choice: '418'" in proc.stderr


def test_refresh_token_unused_for_30_days_expires(clocked: Sandbox) -> None:
    grant = clocked.grant()
    clocked.advance_clock(30 * 86400 + 5)
    resp = refresh(clocked, grant)
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "invalid_request"
    assert re.match(r"The refresh token expired at .+ and it is now .+", body["error_description"])
    assert clocked.stats()["token_errors"]["refresh token expired"] >= 1


def test_a_used_refresh_token_lives_30_days_from_its_issue(clocked: Sandbox) -> None:
    grant = clocked.grant()
    clocked.advance_clock(29 * 86400)
    new = refresh(clocked, grant)
    assert new.status_code == 200
    grant["refresh_token"] = new.json()["refresh_token"]
    clocked.advance_clock(29 * 86400)
    assert refresh(clocked, grant).status_code == 200


def test_revoked_grant_refresh_answers_unauthorized_client(sandbox: Sandbox, grant: dict) -> None:
    token = sandbox.access_token(grant)
    sandbox.revoke(grant["client_id"])
    resp = refresh(sandbox, grant)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized_client"
    api = requests.get(
        f"{sandbox.url}/api/v1/current/Me",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=30,
    )
    assert api.status_code == 401


# -- bearer tokens ----------------------------------------------------------------------------
def test_missing_or_unknown_bearer_answers_401_with_www_authenticate(sandbox: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        resp = requests.get(f"{sandbox.url}/api/v1/current/Me", headers=headers, timeout=30)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
        assert resp.json()["error"]["message"]["value"]


def test_expired_access_token_answers_401_saying_expired(sandbox_factory: Any) -> None:
    sb = sandbox_factory(token_lifetime=2, divisions=1, scale=0.02)
    grant = sb.grant()
    token = sb.access_token(grant)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    assert (
        requests.get(f"{sb.url}/api/v1/current/Me", headers=headers, timeout=30).status_code == 200
    )
    sb.advance_clock(3)
    resp = requests.get(f"{sb.url}/api/v1/current/Me", headers=headers, timeout=30)
    assert resp.status_code == 401
    assert "expired" in resp.headers["WWW-Authenticate"]
    assert "X-RateLimit-Minutely-Limit" in resp.headers  # the token is known: the app is too
    refreshed = refresh(sb, grant)
    assert refreshed.status_code == 200 and refreshed.json()["expires_in"] == "2"


# -- authorization code grant and the consent page -------------------------------------------
@pytest.fixture
def app(sandbox: Sandbox) -> dict[str, Any]:
    """A registered app with a non-loopback redirect URI too."""
    import secrets

    return sandbox.grant(
        client_id=f"app-{secrets.token_hex(4)}",
        client_secret="secret-" + secrets.token_hex(4),
        redirect_uri="https://example.com/oauth/callback",
    )


def test_consent_page_has_the_form_the_browser_test_relies_on(sandbox: Sandbox, app: dict) -> None:
    resp = requests.get(
        f"{sandbox.url}/api/oauth2/auth",
        params={
            "client_id": app["client_id"],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "state": "x",
        },
        timeout=30,
    )
    assert resp.status_code == 200
    page = resp.text
    for marker in (
        'id="username"',
        'id="password"',
        'id="approve"',
        'id="deny"',
        ">Approve<",
        ">Deny<",
    ):
        assert marker in page
    assert "demo" in page
    assert 'method="post"' in page and 'action="/api/oauth2/auth"' in page


def test_code_flow_approve_exchange_with_body_credentials(sandbox: Sandbox, app: dict) -> None:
    code = code_from(consent(sandbox, app["client_id"]))
    resp = token_call(
        sandbox,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert tokens["expires_in"] == "600" and tokens["token_type"] == "bearer"
    me = requests.get(
        f"{sandbox.url}/api/v1/current/Me",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"},
        timeout=30,
    )
    assert me.status_code == 200
    # Right after the code exchange the access token is fresh: refreshing now is too early.
    early = refresh(sandbox, dict(app, refresh_token=tokens["refresh_token"]))
    assert early.status_code == 401
    assert "Access Token not expired" in early.text


def test_code_flow_with_basic_credentials_and_registered_redirect(
    sandbox: Sandbox, app: dict
) -> None:
    redirect = "https://example.com/oauth/callback"
    code = code_from(consent(sandbox, app["client_id"], redirect_uri=redirect))
    resp = token_call(
        sandbox,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert resp.status_code == 200, resp.text


def test_codes_are_single_use(sandbox: Sandbox, app: dict) -> None:
    code = code_from(consent(sandbox, app["client_id"]))
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    creds = (app["client_id"], app["client_secret"])
    assert token_call(sandbox, data, auth=creds).status_code == 200
    again = token_call(sandbox, data, auth=creds)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_with_another_redirect_uri_is_refused(sandbox: Sandbox, app: dict) -> None:
    code = code_from(consent(sandbox, app["client_id"]))
    resp = token_call(
        sandbox,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:1/other",
        },
        auth=(app["client_id"], app["client_secret"]),
    )
    assert resp.status_code == 400


def test_codes_expire(clocked: Sandbox) -> None:
    app = clocked.grant(client_id="expiring-code-app", client_secret="s")
    code = code_from(consent(clocked, app["client_id"]))
    clocked.advance_clock(301)
    resp = token_call(
        clocked,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert resp.status_code == 400
    assert "expired" in resp.json()["error_description"]


def test_deny_redirects_with_access_denied(sandbox: Sandbox, app: dict) -> None:
    resp = consent(sandbox, app["client_id"], action="deny")
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st@te 1"]}
    assert resp.headers["Location"].startswith(REDIRECT + "?")


def test_wrong_password_shows_the_page_again_with_an_error(sandbox: Sandbox, app: dict) -> None:
    resp = consent(sandbox, app["client_id"], password="wrong")
    assert resp.status_code == 200
    assert 'id="error"' in resp.text and "Wrong username or password" in resp.text
    assert 'id="approve"' in resp.text


def test_unknown_client_id_gets_an_error_page_and_no_redirect(sandbox: Sandbox) -> None:
    resp = requests.get(
        f"{sandbox.url}/api/oauth2/auth",
        params={"client_id": "nobody", "redirect_uri": REDIRECT, "response_type": "code"},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert consent(sandbox, "nobody").status_code == 400


def test_redirect_uri_must_be_loopback_or_registered(sandbox: Sandbox, app: dict) -> None:
    assert (
        consent(sandbox, app["client_id"], redirect_uri="https://evil.example/cb").status_code
        == 400
    )
    for uri in ("http://localhost:53682/", "http://127.0.0.1:9/cb?x=1"):
        resp = consent(sandbox, app["client_id"], redirect_uri=uri)
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith(uri)
