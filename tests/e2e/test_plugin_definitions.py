"""meltano.yml and the MeltanoHub-style files define the plugins as their `--about` says."""

from __future__ import annotations

import json
import subprocess
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

from demo.meltano import MELTANO, ROOT

PLUGINS = {"tap-exactonline": "extractors", "target-exactonline": "loaders"}
SECRETS = {"client_secret", "refresh_token", "token_store_url"}


def meltano_entry(name: str) -> dict[str, Any]:
    project = YAML(typ="safe").load((ROOT / "meltano.yml").read_text())
    return next(p for p in project["plugins"][PLUGINS[name]] if p["name"] == name)


def hub_file(name: str) -> dict[str, Any]:
    path = ROOT / "plugins" / PLUGINS[name] / f"{name}--exactonline-connector.yml"
    return YAML(typ="safe").load(path.read_text())


@pytest.mark.parametrize("name", PLUGINS)
def test_definitions_match_the_plugins_about(sync_definitions: ModuleType, name: str) -> None:
    wanted = sync_definitions.definition(name, sync_definitions.about(name))
    for source, definition in (("meltano.yml", meltano_entry(name)), ("hub file", hub_file(name))):
        for key in ("capabilities", "settings", "settings_group_validation"):
            assert definition[key] == wanted[key], (
                f"{source} {name} {key} differs from --about: run python plugins/sync_definitions.py"
            )


@pytest.mark.parametrize("name", PLUGINS)
def test_secrets_are_sensitive_and_credentials_required(name: str) -> None:
    for definition in (meltano_entry(name), hub_file(name)):
        settings = {s["name"]: s for s in definition["settings"]}
        assert {n for n, s in settings.items() if s.get("sensitive")} == SECRETS
        assert ["client_id", "client_secret"] in definition["settings_group_validation"]


def test_hub_files_carry_the_hub_fields() -> None:
    for name in PLUGINS:
        doc = hub_file(name)
        for key in ("name", "namespace", "variant", "label", "description", "pip_url", "repo"):
            assert doc.get(key), f"{name} hub file lacks {key}"
        assert doc["name"] == name and doc["variant"] == "exactonline-connector"


def test_meltano_reads_the_project_and_maps_environment_settings(tmp_path) -> None:
    """Meltano itself accepts the definitions; the sandbox environment reads all divisions and
    settings arrive from TAP_EXACTONLINE_* variables (how the demo passes them)."""
    env = {
        "PATH": str(MELTANO.parent),
        "HOME": str(tmp_path),
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "TAP_EXACTONLINE_CLIENT_ID": "demo-app",
        "TAP_EXACTONLINE_BASE_URL": "http://127.0.0.1:9",
    }
    out = subprocess.run(
        [str(MELTANO), "--environment=sandbox", "config", "print", "tap-exactonline"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(out.stdout[out.stdout.index("{") :])
    assert config["divisions"] == "all"
    assert config["client_id"] == "demo-app"
    assert config["base_url"] == "http://127.0.0.1:9"
