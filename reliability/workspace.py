"""One scenario's world: a sandbox, a work directory, and the connector commands run as Meltano
would run them (console scripts as subprocesses, Singer messages on stdout/stdin).

Every command's stdout and stderr is kept in `outputs`, and every grant and token store is
registered, so `secret_hits()` can scan all of it at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.secrets import TokenWatcher, count_hits
from tap_exactonline.selection import select_streams
from tap_exactonline.streams import SHAPED_STREAMS

BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-exactonline")
TARGET = str(BIN / "target-exactonline")
AUTH = str(BIN / "exactonline-auth")
TIMEOUT = 600
KILL_POLL_SECONDS = 0.02
# Runs a command and reports its peak resident memory (KiB) on the last line of stderr.
PEAK_RSS = "PEAK_RSS_KIB="
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    f"print('{PEAK_RSS}%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
    "file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@cache
def discovered_catalog() -> str:
    """`tap-exactonline --discover` (offline), once per process."""
    done = subprocess.run([TAP, "--discover"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"tap --discover failed: {done.stderr[-2000:]}")
    return done.stdout


@cache
def stream_keys() -> dict[str, tuple[str, ...]]:
    """Each stream's key properties, as the tap declares them."""
    data = json.loads(discovered_catalog())
    return {e["tap_stream_id"]: tuple(e.get("key_properties") or ()) for e in data["streams"]}


SCENARIO_STREAMS = frozenset({*(s.name for s in SHAPED_STREAMS), "divisions"})
"""What a scenario's tap reads unless it names streams: the hand-shaped streams (customers,
invoices, payments, the ledger...) and divisions, whose rows the scenarios compare. The other
70-odd catalogue streams are covered by tests/tap/test_breadth.py; here they would only multiply
the calls each scenario waits for under its compressed limits."""


def catalog(streams: Iterable[str] | None) -> dict[str, Any]:
    """The discovered catalog with only `streams` selected (None: `SCENARIO_STREAMS`)."""
    chosen = set(SCENARIO_STREAMS if streams is None else streams)
    return select_streams(json.loads(discovered_catalog()), chosen)


@dataclass
class TapOutput:
    """What one tap run emitted (up to the kill, if it was killed)."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str
    killed: bool = False

    @property
    def state(self) -> dict[str, Any] | None:
        """The last STATE message: what Meltano would have kept."""
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else None

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        return [(m["stream"], m["record"]) for m in self.messages if m["type"] == "RECORD"]


@dataclass
class TargetOutput:
    returncode: int
    stdout: str
    stderr: str
    rejects: list[dict[str, Any]]
    summary: dict[str, Any] | None
    killed: bool = False
    peak_rss_kib: int | None = None  # with `measure_memory`: the target's peak resident memory


@dataclass
class Workspace:
    """Sandbox + directory + output log + token watcher for one scenario."""

    sandbox: Sandbox
    root: Path
    outputs: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    watcher: TokenWatcher = field(default_factory=TokenWatcher)
    env: dict[str, str] = field(default_factory=dict)  # extra environment of every command
    runs: int = 0
    # Targets may run in threads at once (overlapping runs): their files must not share a name.
    _naming: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.watcher.start()

    def close(self) -> None:
        self.watcher.stop()

    # -- grants and configs -------------------------------------------------------------------
    def grant(self) -> dict[str, Any]:
        """A fresh consented grant (new app: fresh rate windows); its secrets are registered."""
        grant = self.sandbox.grant()
        self.secrets.update({grant["client_secret"], grant["refresh_token"]})
        return grant

    def config(self, grant: dict[str, Any], store: Path, **extra: Any) -> dict[str, Any]:
        self.watcher.watch(store)
        return {
            "client_id": grant["client_id"],
            "client_secret": grant["client_secret"],
            "refresh_token": grant["refresh_token"],
            "base_url": self.sandbox.url,
            "token_store_path": str(store),
            **extra,
        }

    def _file(self, name: str, data: Any) -> Path:
        self.runs += 1
        path = self.root / f"{self.runs:03d}-{name}"
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path

    def all_secrets(self) -> set[str]:
        self.watcher.poll()
        return self.secrets | self.watcher.tokens

    def secret_hits(self) -> int:
        """Leaks of any registered secret or watched token into any command output so far."""
        return count_hits(self.outputs, self.all_secrets())

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    # -- commands -----------------------------------------------------------------------------
    def run_tap(
        self,
        config: dict[str, Any],
        *,
        streams: Iterable[str] | None = None,
        state: dict[str, Any] | None = None,
        kill_after: int | None = None,
    ) -> TapOutput:
        """Run the tap; with `kill_after`, SIGKILL it once that many lines have been read."""
        args = [TAP, "--config", str(self._file("tap-config.json", config))]
        args += ["--catalog", str(self._file("catalog.json", catalog(streams)))]
        if state is not None:
            args += ["--state", str(self._file("state.json", state))]
        err_path = self.root / f"{self.runs:03d}-tap.stderr"
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=err, text=True, env=self.environ()
            )
            assert proc.stdout is not None
            lines: list[str] = []
            killed = False
            for line in proc.stdout:
                lines.append(line)
                if kill_after is not None and len(lines) >= kill_after:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
            proc.stdout.close()
            proc.wait(timeout=TIMEOUT)
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        self.outputs += ["".join(lines), stderr]
        messages = [json.loads(line) for line in lines if line.strip()]
        return TapOutput(proc.returncode, messages, stderr, killed)

    def run_target(
        self,
        config: dict[str, Any],
        stdin: str,
        *,
        kill_when: Callable[[], bool] | None = None,
        measure_memory: bool = False,
    ) -> TargetOutput:
        """Pipe `stdin` into the target; with `kill_when`, SIGKILL it as soon as that holds;
        with `measure_memory`, run it under a parent that reports its peak resident memory."""
        with self._naming:
            name = f"{self.runs + 1:03d}"
            reject_file = self.root / f"{name}-rejects.jsonl"
            summary_file = self.root / f"{name}-summary.json"
            cfg = {"reject_file": str(reject_file), "summary_file": str(summary_file), **config}
            args = [TARGET, "--config", str(self._file("target-config.json", cfg))]
        if measure_memory:
            assert kill_when is None, "a kill would hit the measuring parent"
            args = [sys.executable, "-c", _MEASURE, *args]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.root,
            env=self.environ(),
        )
        killed = threading.Event()
        if kill_when is not None:

            def killer() -> None:
                while proc.poll() is None:
                    if kill_when():
                        os.kill(proc.pid, signal.SIGKILL)
                        killed.set()
                        return
                    time.sleep(KILL_POLL_SECONDS)

            threading.Thread(target=killer, daemon=True).start()
        try:
            out, err = proc.communicate(stdin, timeout=TIMEOUT)
        except BrokenPipeError:
            out, err = proc.communicate(timeout=TIMEOUT)
        self.outputs += [out, err]
        rejects: list[dict[str, Any]] = []
        if reject_file.exists():
            text = reject_file.read_text(encoding="utf-8")
            self.outputs.append(text)
            rejects = [json.loads(line) for line in text.splitlines() if line.strip()]
        summary = None
        if summary_file.exists():
            text = summary_file.read_text(encoding="utf-8")
            self.outputs.append(text)
            summary = json.loads(text)
        peak = None
        if measure_memory and PEAK_RSS in err:
            err, _, tail = err.rpartition(PEAK_RSS)
            peak = int(tail.strip())
        return TargetOutput(proc.returncode, out, err, rejects, summary, killed.is_set(), peak)

    def run_auth(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [AUTH, *args], capture_output=True, text=True, timeout=timeout, env=self.environ()
        )
        self.outputs += [done.stdout, done.stderr]
        return done


def singer_lines(messages: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)
