"""Fixtures of the end-to-end tests: the project's Meltano, installed once, and the sync script.

`meltano install` is slow on a fresh machine, so it runs once per test worker (serialized by a
lock file: workers share `.meltano/`; an up-to-date plugin is skipped). Each test then gets its
own Meltano system database and logs under its tmp path, so bookmarks never leak between tests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from demo.meltano import ROOT, MeltanoProject


@pytest.fixture(scope="session")
def meltano_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("meltano-install")
    MeltanoProject(state_dir=base / "state", log_dir=base / "logs").install()


@pytest.fixture
def meltano(meltano_installed: None, tmp_path: Path) -> MeltanoProject:
    """The project's Meltano with a fresh state database and logs in this test's tmp path."""
    return MeltanoProject(state_dir=tmp_path / "meltano", log_dir=tmp_path / "logs")


@pytest.fixture(scope="session")
def sync_definitions() -> ModuleType:
    """plugins/sync_definitions.py, the generator of plugin definitions and README tables."""
    path = ROOT / "plugins" / "sync_definitions.py"
    spec = importlib.util.spec_from_file_location("sync_definitions", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dbt_env(tmp_path: Path) -> dict[str, str]:
    """dbt's working files (compiled SQL, logs, exports) in the test's tmp path, not in
    transform/, where parallel tests would overwrite each other's."""
    exports = tmp_path / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    return {
        "DBT_TARGET_PATH": str(tmp_path / "dbt" / "target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt" / "logs"),
        "DBT_DUCKDB_EXPORT_DIR": str(exports),
        "TAP_JSONL_CREDIT_CONTROL_PATH": str(exports / "reverse_etl__customers.jsonl"),
    }
