"""Run `target-exactonline` as a subprocess on Singer messages, as Meltano would."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox

TARGET = Path(sys.executable).with_name("target-exactonline")


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@dataclass
class TargetRun:
    returncode: int
    stdout: str
    stderr: str
    reject_file: Path
    summary_file: Path

    @property
    def states(self) -> list[dict[str, Any]]:
        """State messages the target emitted (the SDK writes the bare state value per line)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def rejects(self) -> list[dict[str, Any]]:
        if not self.reject_file.exists():
            return []
        # Strict JSON, one object a line: UTF-8, and no NaN or Infinity (not JSON numbers).
        lines = self.reject_file.read_text(encoding="utf-8").split("\n")
        return [json.loads(line, parse_constant=_not_json) for line in lines if line]

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.summary_file.read_text())


def schema(
    stream: str, properties: dict[str, Any] | None = None, key: list[str] | None = None
) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties or {}},
        "key_properties": key or [],
    }


def record(stream: str, rec: dict[str, Any]) -> dict:
    return {"type": "RECORD", "stream": stream, "record": rec}


def state(value: dict[str, Any]) -> dict:
    return {"type": "STATE", "value": value}


def _files(tmp_path: Path, config: dict[str, Any], name: str) -> tuple[Path, Path, Path]:
    """Write the run's config (reject and summary files named after the run)."""
    reject_file = tmp_path / f"{name}-rejects.jsonl"
    summary_file = tmp_path / f"{name}-summary.json"
    cfg = {"reject_file": str(reject_file), "summary_file": str(summary_file), **config}
    cfg_path = tmp_path / f"{name}-config.json"
    cfg_path.write_text(json.dumps(cfg))
    return cfg_path, reject_file, summary_file


def run_target(
    tmp_path: Path, config: dict[str, Any], messages: list[dict[str, Any]], name: str = "run"
) -> TargetRun:
    """Write the config, pipe the messages in, and collect exit status, output and files."""
    stdin = "".join(json.dumps(m) + "\n" for m in messages)
    return run_target_on(tmp_path, config, stdin.encode(), name)


def run_target_on(tmp_path: Path, config: dict[str, Any], stdin: bytes, name: str) -> TargetRun:
    """`run_target` on raw input bytes (for input that is not valid JSON or UTF-8)."""
    cfg_path, reject_file, summary_file = _files(tmp_path, config, name)
    proc = subprocess.run(
        [str(TARGET), "--config", str(cfg_path)],
        input=stdin,
        capture_output=True,
        timeout=240,
        cwd=tmp_path,
    )
    out, err = (b.decode("utf-8", "replace") for b in (proc.stdout, proc.stderr))
    return TargetRun(proc.returncode, out, err, reject_file, summary_file)


@dataclass
class RunningTarget:
    """A target started in the background (runs that overlap); `finish()` waits for it."""

    proc: subprocess.Popen[bytes]
    stdout_file: Path
    stderr_file: Path
    reject_file: Path
    summary_file: Path

    @property
    def stderr(self) -> str:
        """What it logged so far."""
        return self.stderr_file.read_text(errors="replace")

    def finish(self) -> TargetRun:
        self.proc.wait(timeout=240)
        return TargetRun(
            self.proc.returncode,
            self.stdout_file.read_text(),
            self.stderr,
            self.reject_file,
            self.summary_file,
        )


def start_target(
    tmp_path: Path,
    config: dict[str, Any],
    messages: list[dict[str, Any]],
    name: str = "run",
    env: dict[str, str] | None = None,
) -> RunningTarget:
    """Start the target on `messages` (stdin written and closed) without waiting for it
    (`env`: its whole environment, e.g. a HOME of its own)."""
    cfg_path, reject_file, summary_file = _files(tmp_path, config, name)
    stdin = tmp_path / f"{name}-input.jsonl"
    stdin.write_text("".join(json.dumps(m) + "\n" for m in messages))
    out, err = tmp_path / f"{name}-stdout.txt", tmp_path / f"{name}-stderr.txt"
    with stdin.open("rb") as i, out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [str(TARGET), "--config", str(cfg_path)],
            stdin=i,
            stdout=o,
            stderr=e,
            cwd=tmp_path,
            env=env,
        )
    return RunningTarget(proc, out, err, reject_file, summary_file)


def invoices_for(sb: Sandbox, division: int, keys: list[str]) -> list[dict[str, Any]]:
    """A schema and one single-line invoice per key, for a customer and an item of `sb`."""
    customer = next(r for r in sb.rows(division, "crm/Accounts") if r["Status"] == "C")
    item = sb.rows(division, "logistics/Items")[0]
    line = {"item_code": item["Code"], "Quantity": 1}
    return [schema("sales_invoices")] + [
        record(
            "sales_invoices",
            {"invoice_key": key, "ordered_by_code": customer["Code"].strip(), "lines": [line]},
        )
        for key in keys
    ]
