"""What a reliability scenario must show: nothing lost, duplicated or leaked."""

from __future__ import annotations

from reliability.result import ScenarioResult


def assert_nothing_lost(result: ScenarioResult) -> None:
    """Fail naming what was lost, duplicated or leaked (never the secret itself)."""
    assert result.runs > 0, f"{result.name}: nothing ran"
    assert result.lost == 0, f"{result.name}: {result.lost} lost; {result.problems[:10]}"
    assert result.duplicated == 0, (
        f"{result.name}: {result.duplicated} duplicated; {result.problems[:10]}"
    )
    assert result.secret_hits == 0, f"{result.name}: {result.secret_hits} secret(s) in output"
    assert result.problems == [], f"{result.name}: {result.problems[:10]}"
