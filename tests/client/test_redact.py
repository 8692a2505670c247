"""Secrets never reach a log line or an error text, whatever logs them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from exactonline_api.errors import ApiError, AuthExpiredError
from exactonline_api.redact import MASK, install_redaction, redact, register_secret
from exactonline_sandbox.harness import Sandbox
from tests.support.secrets import assert_no_secret, secrets_of, store_secrets


def test_registered_secrets_and_their_url_encodings_are_masked() -> None:
    register_secret("tok!en+/=value")
    text = redact("a tok!en+/=value b tok%21en%2B%2F%3Dvalue c tok%21en%2B%2F%3Dvalue")
    assert "tok" not in text
    assert text.count(MASK) == 3


def test_credential_shaped_values_are_masked_even_when_never_registered() -> None:
    text = redact(
        "GET /callback?code=abc123XYZ&state=s refresh_token=r1r2r3 "
        '{"access_token": "a1a2a3", "token_type": "bearer"} Authorization: Bearer zzzzzzzzzzzzzzzz'
    )
    for value in ("abc123XYZ", "r1r2r3", "a1a2a3", "zzzzzzzzzzzzzzzz"):
        assert value not in text
    assert "state=s" in text and "bearer" in text


def test_log_records_and_tracebacks_are_masked_after_install(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction()
    register_secret("super-secret-refresh")
    log = logging.getLogger("tap-exactonline")
    with caplog.at_level(logging.INFO):
        log.info("token is %s", "super-secret-refresh")
        try:
            raise RuntimeError("failed with super-secret-refresh")
        except RuntimeError:
            log.exception("boom")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "super-secret-refresh" not in text
    assert MASK in text and "RuntimeError" in text


def test_error_texts_are_masked() -> None:
    register_secret("echoed-secret-token")
    error = ApiError(400, "/api/oauth2/token", "bad token echoed-secret-token")
    assert "echoed-secret-token" not in str(error)


def test_urllib3_and_client_debug_logs_of_real_calls_leak_nothing(
    sandbox: Sandbox, grant: dict, make_client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_redaction()
    store = tmp_path / "tokens.json"
    with caplog.at_level(logging.DEBUG):
        client = make_client(sandbox, grant, store=store)
        client.me()
        division = grant["divisions"][0]
        client.get(division, "crm/Accounts", {"$select": "ID", "$top": 1})
        # a refused refresh (rotated token used again) logs its failure too
        other = make_client(sandbox, grant, store=tmp_path / "other.json")
        with pytest.raises(AuthExpiredError):
            other.me()
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert_no_secret([caplog.text], secrets_of(grant, *store_secrets(store)))


def test_a_password_in_any_url_is_masked_even_when_never_registered() -> None:
    text = redact("could not connect to postgres://etl:n0t-registered@10.0.0.5:5432/grants")
    assert text == f"could not connect to postgres://etl:{MASK}@10.0.0.5:5432/grants"
