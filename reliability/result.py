"""What a scenario reports: what was injected, how many runs, what was lost or duplicated.

The same object feeds the test assertions and the table in docs/reliability.md, so the figures
in the document are exactly what the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScenarioResult:
    """Outcome of one scenario. `lost` and `duplicated` must be 0; `problems` must be empty."""

    name: str
    injected: str
    runs: int = 0
    checked: int = 0  # rows or records compared with the ground truth
    lost: int = 0
    duplicated: int = 0
    secret_hits: int = 0
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated and not self.secret_hits and not self.problems

    def check(self, condition: bool, problem: str) -> None:
        """Record a failed expectation (the message never carries a secret)."""
        if not condition:
            self.problems.append(problem)
