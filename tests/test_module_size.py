"""Issue 17 item 9: no product module over 600 lines (one concept per module, named for it)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("exactonline_api", "exactonline_sandbox", "tap_exactonline", "target_exactonline")
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_product_packages_are_found() -> None:
    assert {p.relative_to(ROOT).parts[0] for p in _modules()} == set(PACKAGES)


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_module_passes_600_lines(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{module.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES}): split it into "
        "modules that each hold one concept, named for it"
    )
