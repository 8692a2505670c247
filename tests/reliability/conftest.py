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


def assert_nothing_lost(result: ScenarioResult) -> None:
    """Fail naming what was lost, duplicated or leaked (never the secret itself)."""
    assert result.runs > 0, f"{result.name}: nothing ran"
    assert result.lost == 0, f"{result.name}: {result.lost} lost; {result.problems[:10]}"
    assert result.duplicated == 0, (
        f"{result.name}: {result.duplicated} duplicated; {result.problems[:10]}"
    )
    assert result.secret_hits == 0, f"{result.name}: {result.secret_hits} secret(s) in output"
    assert result.problems == [], f"{result.name}: {result.problems[:10]}"


@pytest.fixture
def short_scenario(tmp_path: Path) -> Callable[[str], ScenarioResult]:
    def run(name: str) -> ScenarioResult:
        return SCENARIOS[name](SHORT, tmp_path / name)

    return run
