"""Start and drive a sandbox from Python: what tests, the demo and the benchmarks use.

`Sandbox` runs the real command line (`python -m exactonline_sandbox serve --port 0 ...`) as a
subprocess, so every user exercises the same server a person would start by hand, waits for its
URL line, and always kills it on exit. Keyword flags become CLI flags: `token_lifetime=5` ->
`--token-lifetime 5`, `faults="500:0.05"` -> `--faults 500:0.05`, `access_log=False` ->
`--no-access-log`. The server's stderr goes to `log_path` (a temporary file, removed after a clean stop unless
EXACTONLINE_SANDBOX_KEEP_LOGS is set) for debugging.

The control-plane calls use only the standard library so the harness adds no dependency.
"""

from __future__ import annotations

import atexit
import base64
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import orjson

from exactonline_sandbox.cli import LISTENING

START_TIMEOUT = 300.0  # building a big company (scale 10) takes a while
UNTHROTTLED = 10_000_000
"""A minutely limit (`Sandbox(minutely_limit=UNTHROTTLED)`) no run reaches: for runs whose
subject is not Exact's 60 calls a minute, which reading every stream of a division exceeds."""


class SandboxStartError(RuntimeError):
    """The server did not print its URL; the message carries the tail of its log."""


class Sandbox:
    """A sandbox server subprocess and a small client for its control plane."""

    def __init__(
        self, *, seed: int = 1, scale: float = 0.05, divisions: int = 2, **flags: Any
    ) -> None:
        self.seed = seed
        self.scale = scale
        self.divisions = divisions
        self.flags = flags
        self.url = ""
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- lifecycle ----------------------------------------------------------------------------
    def command(self) -> list[str]:
        """The command line this sandbox runs."""
        cmd = [
            sys.executable,
            "-m",
            "exactonline_sandbox",
            "serve",
            "--port",
            "0",
            "--seed",
            str(self.seed),
            "--scale",
            str(self.scale),
            "--divisions",
            str(self.divisions),
        ]
        for key, value in self.flags.items():
            if value is None:
                continue
            name = key.replace("_", "-")
            if value is False:
                cmd.append(f"--no-{name}")
            elif value is True:
                cmd.append(f"--{name}")
            else:
                cmd += [f"--{name}", str(value)]
        return cmd

    def start(self) -> Sandbox:
        if self._proc is not None:
            return self
        fd, log_name = tempfile.mkstemp(prefix="exactonline-sandbox-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log_name)
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=self._log_file, env=env
        )
        atexit.register(self.stop)
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = self._proc.stdout
        assert stdout is not None

        def read_first_line() -> None:
            lines.put(stdout.readline())

        threading.Thread(target=read_first_line, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
                break
            except queue.Empty:
                if self._proc.poll() is not None:
                    break
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith(LISTENING):
            self.stop()
            raise SandboxStartError(
                f"sandbox did not start (got {text!r}); log tail:\n{self.log_tail()}"
            )
        self.url = text[len(LISTENING) :].strip()
        return self

    def stop(self) -> None:
        """SIGTERM (then SIGKILL after 10 s); the log file is removed after a clean exit unless
        EXACTONLINE_SANDBOX_KEEP_LOGS is set."""
        proc, self._proc = self._proc, None
        clean = False
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
            clean = proc.returncode == 0
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
            if clean and self.log_path and not os.environ.get("EXACTONLINE_SANDBOX_KEEP_LOGS"):
                self.log_path.unlink(missing_ok=True)

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control plane ------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = orjson.dumps(body) if body is not None else None
        request = Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urlopen(request, timeout=60) as answer:
                raw = answer.read()
        except HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise RuntimeError(f"{method} {path} answered {exc.code}: {detail}") from None
        return orjson.loads(raw) if raw else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/health")

    def grant(self, **app: Any) -> dict[str, Any]:
        """A fresh consented grant: client_id, client_secret, refresh_token, divisions.

        Pass client_id/client_secret/redirect_uri to register (or reuse) a specific app.
        """
        return self._call("POST", "/_sandbox/grants", app)

    def revoke(self, client_id: str) -> None:
        self._call("POST", "/_sandbox/grants/revoke", {"client_id": client_id})

    def withdraw_division(self, division: int) -> None:
        """The user loses `division`: unlisted by system/Divisions, 403 on every call to it."""
        self._call("POST", "/_sandbox/divisions/withdraw", {"division": division})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/stats")

    def reset_stats(self) -> None:
        self._call("POST", "/_sandbox/stats/reset", {})

    def faults(self, spec: dict[str, Any]) -> None:
        self._call("POST", "/_sandbox/faults", spec)

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    @contextmanager
    def faults_during(self, spec: dict[str, Any]) -> Iterator[dict[str, int]]:
        """Faults for the calls made inside the block, cleared however it ends.

        Yields a dict that, once the block is over, holds how many answers of each status
        (`"500"`, `"dropped"`, ...) the sandbox gave during it.
        """
        before = self.stats()["by_status"]
        delta: dict[str, int] = {}
        self.faults(spec)
        try:
            yield delta
        finally:
            self.clear_faults()
            after = self.stats()["by_status"]
            delta.update({k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k)})

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/_sandbox/clock", {"advance": seconds})

    def clock(self) -> float:
        """Sandbox time, epoch seconds."""
        return float(self._call("GET", "/_sandbox/clock")["now"])

    def rows(self, division: int, endpoint: str) -> list[dict[str, Any]]:
        query = urlencode({"division": division, "endpoint": endpoint})
        return self._call("GET", f"/_sandbox/rows?{query}")

    def delete_row(self, division: int, endpoint: str, key: str) -> None:
        """Delete a row as a user of Exact's screens would; `sync/Deleted` logs it."""
        self._call(
            "POST",
            "/_sandbox/rows/delete",
            {"division": division, "endpoint": endpoint, "key": key},
        )

    def access_token(self, grant: dict[str, Any]) -> str:
        """One refresh_token grant (HTTP Basic credentials); updates grant["refresh_token"]
        with the rotated token and returns the access token. For sandbox tests only: the
        connector must do this through its own token manager."""
        basic = base64.b64encode(f"{grant['client_id']}:{grant['client_secret']}".encode()).decode()
        body = urlencode({"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]})
        request = Request(self.url + "/api/oauth2/token", data=body.encode(), method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Authorization", f"Basic {basic}")
        try:
            with urlopen(request, timeout=60) as answer:
                tokens = orjson.loads(answer.read())
        except HTTPError as exc:
            detail = orjson.loads(exc.read() or b"{}")
            raise RuntimeError(
                f"token refresh refused ({exc.code}): {detail.get('error')}"
            ) from None
        grant["refresh_token"] = tokens["refresh_token"]
        return str(tokens["access_token"])
