"""OAuth callback: `exactonline-auth login`'s callback server listens on loopback only and
refuses an answer with a wrong or missing `state` (a forged code is never exchanged).

The bound address is read from the kernel's socket table (/proc/net/tcp, tcp6), not from the
program's own words; a connection to the port through a non-loopback address of this machine
must fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import urlopen

from exactonline_sandbox.harness import Sandbox
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import AUTH, Workspace

LISTEN = "0A"
FORGED_CODE = "forged-code-5e4d3c2b1a"
URL_PREFIX = "Open this URL to authorize: "


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets in LISTEN state on `port`, from /proc/net/tcp and tcp6."""
    found: set[str] = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != LISTEN or int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address)
            if size == 4:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def outside_address() -> str | None:
    """A non-loopback address of this machine, if it has one (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only selects a route
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def status_of(url: str) -> int:
    try:
        with urlopen(url, timeout=10) as answer:
            return answer.status
    except HTTPError as exc:
        return exc.code


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "OAuth callback",
        "callbacks with a wrong and a missing state and a forged code; a connection to the "
        "callback port through a non-loopback address",
    )
    with Sandbox(scale=0.02, divisions=1, access_log=False) as sb:
        ws = Workspace(sb, root)
        try:
            app = ws.grant()
            ws.secrets.add(FORGED_CODE)
            args = [
                AUTH, "login", "--no-browser", "--base-url", sb.url,
                "--redirect-uri", "http://127.0.0.1:0/callback",
                "--client-id", app["client_id"], f"--client-secret={app['client_secret']}",
                "--token-store-path", str(root / "tokens.json"), "--timeout", "60",
            ]  # fmt: skip
            proc = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ws.environ()
            )
            assert proc.stdout is not None
            head: list[str] = []
            url = ""
            for line in proc.stdout:
                head.append(line)
                if line.startswith(URL_PREFIX):
                    url = line.removeprefix(URL_PREFIX).strip()
                    break
            result.runs += 1
            try:
                query = parse_qs(urlsplit(url).query)
                redirect = query["redirect_uri"][0]
                port = urlsplit(redirect).port or 0
                bound = listening_addresses(port)
                result.figures["callback bound to"] = ", ".join(sorted(bound)) or "?"
                result.check(bool(bound), "callback server not found listening")
                result.check(
                    all(a in ("127.0.0.1", "::1") for a in bound), f"callback bound to {bound}"
                )
                outside = outside_address()
                if outside is not None:
                    probe = socket.socket()
                    probe.settimeout(2)
                    reached = probe.connect_ex((outside, port)) == 0
                    probe.close()
                    result.check(not reached, "callback port reachable from outside loopback")
                result.figures["non-loopback address probed"] = "yes" if outside else "none here"
                before = sb.stats()["token_calls"]
                wrong = status_of(redirect + "?" + urlencode({"code": FORGED_CODE, "state": "x"}))
                missing = status_of(redirect + "?" + urlencode({"code": FORGED_CODE}))
                result.checked += 2
                result.check(wrong == 400, f"wrong state answered {wrong}")
                result.check(missing == 400, f"missing state answered {missing}")
                result.check(sb.stats()["token_calls"] == before, "a forged code was exchanged")
                result.check(proc.poll() is None, "login ended on a forged callback")
            finally:
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGTERM)
                out, err = proc.communicate(timeout=30)
                ws.outputs += ["".join(head), out, err]
            result.check(not (root / "tokens.json").exists(), "a forged callback stored a grant")
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
