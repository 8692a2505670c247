"""Run a reliability scenario in its short form and fail with its findings.

The scenarios live in the `reliability` package (shared with `make reliability`, which runs them
in the long form and writes docs/reliability.md); these tests are the short form of the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reliability.result import ScenarioResult
from reliability.scenarios import SCENARIOS
from reliability.size import SHORT


@pytest.fixture
def short_scenario(tmp_path: Path) -> Callable[[str], ScenarioResult]:
    def run(name: str) -> ScenarioResult:
        return SCENARIOS[name](SHORT, tmp_path / name)

    return run
