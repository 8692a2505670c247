"""Run the tap the way Meltano does: its console script as a subprocess, Singer messages on stdout.

`TapRunner` writes the config (sandbox URL, a fresh grant, a token store in tmp_path shared by
all runs of one test, since Exact rotates refresh tokens), a catalog with the chosen streams
selected, and the state of the previous run; `TapRun` parses what came out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exactonline_api.client import ExactClient, throttle_path
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import Sandbox
from reliability.workspace import discovered_catalog
from tap_exactonline.selection import select_streams
from tests.support.configs import config_for
from tests.tap.truth import TRUTH

TAP = Path(sys.executable).with_name("tap-exactonline")


@dataclass
class TapRun:
    """The outcome of one tap run."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def streams_with_records(self) -> set[str]:
        return {m["stream"] for m in self.messages if m["type"] == "RECORD"}

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self) -> dict[str, Any]:
        """The last STATE message (what Meltano would store)."""
        return self.states[-1] if self.states else {}

    def partition(self, stream: str, division: int) -> dict[str, Any]:
        return partition_state(self.state, stream, division)


def partition_state(state: dict[str, Any], stream: str, division: int) -> dict[str, Any]:
    parts = state.get("bookmarks", {}).get(stream, {}).get("partitions", [])
    return next((p for p in parts if p["context"] == {"Division": division}), {})


CORE_STREAMS = [*TRUTH, "divisions"]
"""What a run selects unless a test names streams: the streams whose rows the end-to-end tests
compare with the sandbox (`truth.TRUTH`), and divisions. Every stream: `every_stream()`."""


def every_stream() -> list[str]:
    return [entry["tap_stream_id"] for entry in json.loads(discovered_catalog())["streams"]]


@dataclass
class TapRunner:
    """Runs tap-exactonline against one sandbox with one grant and one token store."""

    sandbox: Sandbox
    grant: dict[str, Any]
    workdir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    runs: int = 0

    def config(self, **overrides: Any) -> dict[str, Any]:
        settings = {"division": None, **self.settings, **overrides}  # no target setting
        return config_for(self.sandbox, self.grant, self.workdir, **settings)

    def client(self) -> ExactClient:
        """A client on the tap's own token store (Exact rotates refresh tokens: one store per
        app), for the writes a test makes between runs."""
        return ExactClient(ClientSettings.from_config(self.config()))

    def _write(self, name: str, data: Any) -> Path:
        path = self.workdir / f"{self.runs}-{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    def catalog(
        self, streams: list[str] | None, deselect: dict[str, list[str]] | None = None
    ) -> dict[str, Any]:
        """The discovered catalog with only `streams` selected (None: `CORE_STREAMS`; pass
        `every_stream()` for all) and the properties in `deselect` (stream -> names)
        deselected."""
        chosen = CORE_STREAMS if streams is None else streams
        return select_streams(json.loads(discovered_catalog()), chosen, deselect)

    def command(
        self,
        *,
        state: dict[str, Any] | None = None,
        streams: list[str] | None = None,
        deselect: dict[str, list[str]] | None = None,
        **overrides: Any,
    ) -> list[str]:
        """The tap's command line for one run (config, catalog and state files written)."""
        self.runs += 1
        args = [str(TAP), "--config", str(self._write("config", self.config(**overrides)))]
        args += ["--catalog", str(self._write("catalog", self.catalog(streams, deselect)))]
        if state is not None:
            args += ["--state", str(self._write("state", state))]
        return args

    def run(self, **options: Any) -> TapRun:
        proc = subprocess.run(self.command(**options), capture_output=True, text=True, timeout=600)
        messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        return TapRun(proc.returncode, messages, proc.stderr)


def forget_budget(runner: TapRunner) -> None:
    """Drop the client's remembered rate budget after moving the SANDBOX clock past the reset.

    The client (rightly) refuses calls while its last-known daily budget is spent, until its own
    clock passes Exact's reset; only the sandbox clock moved here, so the local cache is
    discarded, as on a machine whose clock really moved on.
    """
    throttle_path(Path(runner.config()["token_store_path"])).unlink(missing_ok=True)
