"""Client worker processes (tests/support/workers.py) started and read back by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def spawn(command: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    """`python -m tests.support.workers COMMAND SPEC` from the repository root."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.workers", command, json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """The last JSON line of each worker, once all have exited 0."""
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out
