"""`--about` of both plugins names the installed version (the distribution is not named like them)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest


@pytest.mark.parametrize("plugin", ["tap-exactonline", "target-exactonline"])
def test_about_shows_the_installed_version(plugin: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name(plugin)), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    about = json.loads(done.stdout)
    assert about["version"] == version("exactonline-connector")
    assert about["supported_python_versions"]
