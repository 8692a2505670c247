"""Running the tap and the target as Meltano would: real subprocesses through their CLIs.

Each run gets a config file pointing at the sandbox (base_url, the grant's client id, secret and
refresh token, a token store in a temporary directory). The tap's output goes to the null target
(`benchmarks.null_target`), which counts records per stream and keeps the last STATE, so nothing
the tap writes is buffered in this process. CPU time of each connector process is taken from
`os.wait4`, which isolates it from the sandbox's own CPU use on the same machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from exactonline_sandbox.harness import Sandbox

TAP_MODULE = "tap_exactonline.tap"
TARGET_MODULE = "target_exactonline.target"
NULL_TARGET_MODULE = "benchmarks.null_target"
REPO_ROOT = Path(__file__).resolve().parent.parent


#: Not passed on to connector processes: Meltano does not set it, and with it Python's stdout is
#: unbuffered (one write system call per Singer message), which would skew the tap's speed.
UNSET = ("PYTHONUNBUFFERED",)


def plugin_env(name: str) -> dict[str, str]:
    """The `env` meltano.yml gives plugin `name` (what `meltano run` adds to its process)."""
    project = YAML(typ="safe").load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    for plugins in project["plugins"].values():
        for plugin in plugins:
            if plugin["name"] == name:
                return {k: str(v) for k, v in (plugin.get("env") or {}).items()}
    raise KeyError(name)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of connector processes, as Meltano gives it: `benchmarks.*` importable
    from any cwd, stdout buffered even when this process runs with PYTHONUNBUFFERED, and
    `extra` (e.g. the plugin's `env` from meltano.yml)."""
    paths = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


@dataclass
class Grant:
    """One consented app: what a tap or target config needs to connect (secrets stay in files)."""

    sandbox_url: str
    client_id: str
    client_secret: str
    refresh_token: str
    divisions: list[int]
    token_store_path: Path

    @classmethod
    def create(cls, sandbox: Sandbox, workdir: Path, name: str) -> Grant:
        raw = sandbox.grant()
        return cls(
            sandbox_url=sandbox.url,
            client_id=str(raw["client_id"]),
            client_secret=str(raw["client_secret"]),
            refresh_token=str(raw["refresh_token"]),
            divisions=[int(d) for d in raw["divisions"]],
            token_store_path=workdir / f"tokens-{name}.json",
        )

    @property
    def division(self) -> int:
        return self.divisions[0]

    def config(self, **extra: Any) -> dict[str, Any]:
        """Shared client settings; tap and target given the same grant share token store and
        throttle, as they must when they run at once against one division."""
        return {
            "base_url": self.sandbox_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "token_store_path": str(self.token_store_path),
            **extra,
        }


@dataclass
class ProcessResult:
    """How a connector process ended and what it cost on this machine."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    stderr_path: Path
    started: float = 0.0
    ended: float = 0.0
    peak_rss_mb: float = 0.0
    """The process's peak resident memory (`wait4`'s ru_maxrss, KiB on Linux)."""

    def check(self, what: str) -> None:
        if self.returncode != 0:
            tail = self.stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{what} exited {self.returncode}; stderr tail:\n{tail}")


@dataclass
class TapOutput:
    """What the null target counted on the tap's stdout."""

    records: dict[str, int] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    messages: int = 0

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


class Running:
    """A started connector pipeline; `wait()` reaps every process and measures the connector."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        stderr_path: Path,
        sink: subprocess.Popen[bytes] | None,
        started: float | None = None,
    ) -> None:
        self.proc = proc
        self.sink = sink
        self.stderr_path = stderr_path
        self.started = time.perf_counter() if started is None else started

    def wait(self) -> ProcessResult:
        _, status, usage = os.wait4(self.proc.pid, 0)
        ended = time.perf_counter()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        if self.sink is not None:
            self.sink.wait()
            if self.sink.returncode != 0:
                raise RuntimeError(f"null target exited {self.sink.returncode}")
        return ProcessResult(
            returncode=self.proc.returncode,
            wall_seconds=ended - self.started,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            stderr_path=self.stderr_path,
            started=self.started,
            ended=ended,
            peak_rss_mb=usage.ru_maxrss / 1024,
        )


def start_tap(
    workdir: Path,
    name: str,
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    module: str = TAP_MODULE,
    python_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    catalog: dict[str, Any] | None = None,
) -> tuple[Running, Path]:
    """Start `tap-exactonline --config ... [--state ...] | null_target`; returns the running
    pipeline and the path where the null target writes its counts. `python_args` go before
    `-m module` (e.g. a profiler)."""
    config_path = write_json(workdir / f"{name}-config.json", config)
    cmd = [sys.executable, *(python_args or []), "-m", module, "--config", str(config_path)]
    if state is not None:
        cmd += ["--state", str(write_json(workdir / f"{name}-state.json", state))]
    if catalog is not None:  # else the default selection
        cmd += ["--catalog", str(write_json(workdir / f"{name}-catalog.json", catalog))]
    counts_path = workdir / f"{name}-counts.json"
    stderr_path = workdir / f"{name}-stderr.log"
    started = time.perf_counter()
    with open(stderr_path, "wb") as err:
        tap = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=_env(env))
    assert tap.stdout is not None
    sink = subprocess.Popen(
        [sys.executable, "-m", NULL_TARGET_MODULE, str(counts_path)], stdin=tap.stdout, env=_env()
    )
    tap.stdout.close()  # the sink holds the read end; the tap sees EPIPE if the sink dies
    return Running(tap, stderr_path, sink, started), counts_path


def read_tap_output(counts_path: Path) -> TapOutput:
    raw = json.loads(counts_path.read_text(encoding="utf-8"))
    return TapOutput(
        records=raw["records"],
        state=raw["state"],
        messages=raw["messages"],
    )


def run_tap(
    workdir: Path,
    name: str,
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    module: str = TAP_MODULE,
    env: dict[str, str] | None = None,
    catalog: dict[str, Any] | None = None,
) -> tuple[ProcessResult, TapOutput]:
    running, counts_path = start_tap(
        workdir, name, config, state=state, module=module, env=env, catalog=catalog
    )
    result = running.wait()
    result.check(f"tap run {name!r}")
    return result, read_tap_output(counts_path)


def start_target(
    workdir: Path, name: str, config: dict[str, Any], messages: list[dict[str, Any]]
) -> Running:
    """Start `target-exactonline --config ...` reading Singer messages from a file."""
    config_path = write_json(workdir / f"{name}-config.json", config)
    input_path = workdir / f"{name}-input.jsonl"
    input_path.write_text(
        "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in messages), encoding="utf-8"
    )
    stderr_path = workdir / f"{name}-stderr.log"
    with open(input_path, "rb") as stdin, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", TARGET_MODULE, "--config", str(config_path)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=_env(),
        )
    return Running(proc, stderr_path, None)


def run_target(
    workdir: Path, name: str, config: dict[str, Any], messages: list[dict[str, Any]]
) -> ProcessResult:
    result = start_target(workdir, name, config, messages).wait()
    result.check(f"target run {name!r}")
    return result
