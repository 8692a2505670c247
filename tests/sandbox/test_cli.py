"""`exactonline-sandbox serve`: its one stdout line, its flags, and clean stops on signals."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from exactonline_sandbox.harness import Sandbox

LINE = re.compile(r"^Exact Online sandbox listening on http://127\.0\.0\.1:(\d+)\n$")


def console_script() -> list[str]:
    """The installed `exactonline-sandbox` command (falls back to `python -m`)."""
    found = Path(sys.executable).parent / "exactonline-sandbox"
    if found.exists():
        return [str(found)]
    which = shutil.which("exactonline-sandbox")
    return [which] if which else [sys.executable, "-m", "exactonline_sandbox"]


def start(*flags: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [*console_script(), "serve", "--scale", "0.02", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    match = LINE.match(line)
    if not match:
        proc.kill()
        raise AssertionError(
            f"unexpected first line {line!r}: {proc.stderr.read().decode()[-2000:]}"
        )
    return proc, f"http://127.0.0.1:{match.group(1)}"


def token_for(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    grant = requests.post(f"{url}/_sandbox/grants", timeout=30).json()
    resp = requests.post(
        f"{url}/api/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        auth=(grant["client_id"], grant["client_secret"]),
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return grant, resp.json()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_line_and_stops_cleanly_on_signals(sig: signal.Signals) -> None:
    proc, url = start()
    assert requests.get(f"{url}/_sandbox/health", timeout=30).json()["status"] == "ok"
    token_for(url)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out == b""  # nothing after the URL line
    assert b"Finished server process" in err


def test_logs_never_show_secrets() -> None:
    proc, url = start()
    grant, tokens = token_for(url)
    requests.get(
        f"{url}/api/v1/current/Me",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=30,
    )
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    log = err.decode()
    assert "current/Me" in log  # the access log is on
    for secret in (
        grant["client_secret"],
        grant["refresh_token"],
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in log


def test_flags_reach_the_server() -> None:
    proc, url = start(
        "--seed",
        "5",
        "--divisions",
        "3",
        "--token-lifetime",
        "100",
        "--refresh-window",
        "100",
        "--minute-seconds",
        "2",
        "--day-seconds",
        "100",
        "--minutely-limit",
        "7",
        "--daily-limit",
        "70",
        "--error-limit",
        "1",
        "--faults",
        "next:503,seed:3",
    )
    try:
        health = requests.get(f"{url}/_sandbox/health", timeout=30).json()
        assert health["seed"] == 5 and health["scale"] == 0.02 and len(health["divisions"]) == 3
        grant, tokens = token_for(url)
        assert tokens["expires_in"] == "100"
        # --refresh-window 100 of a 100 s token: refreshing at once is allowed.
        again = requests.post(
            f"{url}/api/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(grant["client_id"], grant["client_secret"]),
            timeout=30,
        )
        assert again.status_code == 200
        headers = {"Authorization": f"Bearer {again.json()['access_token']}"}
        division = grant["divisions"][0]
        first = requests.get(f"{url}/api/v1/current/Me", headers=headers, timeout=30)
        assert first.status_code == 503  # --faults next:503
        answer = requests.get(f"{url}/api/v1/current/Me", headers=headers, timeout=30)
        assert answer.status_code == 200
        assert answer.headers["X-RateLimit-Minutely-Limit"] == "7"
        assert answer.headers["X-RateLimit-Limit"] == "70"
        assert int(answer.headers["X-RateLimit-Minutely-Reset"]) % 2000 == 0
        assert int(answer.headers["X-RateLimit-Reset"]) % 100_000 == 0
        missing = (
            f"{url}/api/v1/{division}/crm/Accounts(guid'00000000-0000-0000-0000-000000000000')"
        )
        assert requests.get(missing, headers=headers, timeout=30).status_code == 404
        assert (
            requests.get(missing, headers=headers, timeout=30).status_code == 429
        )  # --error-limit 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_bad_fault_spec_fails_fast_with_exit_2() -> None:
    proc = subprocess.run(
        [*console_script(), "serve", "--faults", "explode:0.5"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"--faults" in proc.stderr and b"explode" in proc.stderr


def test_compact_fault_grammar_with_latency_and_filters(sandbox_factory: Any) -> None:
    sb: Sandbox = sandbox_factory(
        faults="500:1.0,latency:0.0@50ms,endpoints:crm/Accounts,token,seed:1"
    )
    plan = sb._call("GET", "/_sandbox/faults")["faults"]
    assert plan == {
        "rate": {"500": 1.0, "latency": 0.0},
        "latency_ms": 50,
        "next": [],
        "endpoints": ["crm/Accounts"],
        "token": True,
        "seed": 1,
    }


def test_harness_maps_keyword_flags_to_cli_flags() -> None:
    sb = Sandbox(
        seed=2, scale=0.1, divisions=1, token_lifetime=5, access_log=False, faults="500:0.1"
    )
    cmd = sb.command()
    assert cmd[1:4] == ["-m", "exactonline_sandbox", "serve"]
    joined = " ".join(cmd)
    for part in (
        "--port 0",
        "--seed 2",
        "--scale 0.1",
        "--divisions 1",
        "--token-lifetime 5",
        "--no-access-log",
        "--faults 500:0.1",
    ):
        assert part in joined


def test_served_connections_send_small_answers_at_once_without_nagle() -> None:
    """The listening socket says TCP (so asyncio sets TCP_NODELAY on each connection) and has
    TCP_NODELAY itself: otherwise a headers-then-body answer waits for the client's delayed ACK
    on every keep-alive call."""
    import socket

    from exactonline_sandbox.cli import _bind

    listener = _bind("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
        client = socket.create_connection(listener.getsockname()[:2])
        conn, _ = listener.accept()
        try:
            assert conn.proto == socket.IPPROTO_TCP
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            conn.close()
            client.close()
    finally:
        listener.close()


def test_serve_help_shows_the_default_of_every_flag() -> None:
    done = subprocess.run(
        [*console_script(), "serve", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(done.stdout.split())  # argparse wraps lines
    text = text[text.index("options:") :]  # past the usage line
    for flag, default in [
        ("--port", "0"),
        ("--scale", "1.0"),
        ("--divisions", "2"),
        ("--token-lifetime", "600"),
        ("--minutely-limit", "60"),
        ("--daily-limit", "5000"),
        ("--row-cache-mb", "512"),
    ]:
        after = text[text.index(f"{flag} {flag.lstrip('-').replace('-', '_').upper()}") :]
        assert f"(default: {default})" in after[: after.index(")") + 1], flag
