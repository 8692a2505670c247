"""The README's settings tables and stream table say what the plugins really have."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

from demo.meltano import ROOT

README = ROOT / "README.md"


def section(text: str, name: str) -> str:
    match = re.search(
        rf"<!-- BEGIN {re.escape(name)} .*?-->\n(.*?)<!-- END {re.escape(name)} -->", text, re.S
    )
    assert match, f"README has no generated section {name!r}"
    return match.group(1)


@pytest.mark.parametrize("plugin", ["tap-exactonline", "target-exactonline"])
def test_readme_settings_table_lists_every_setting_of_about(
    sync_definitions: ModuleType, plugin: str
) -> None:
    table = section(README.read_text(), f"{plugin} settings")
    documented = {line.split("|")[1].strip() for line in table.splitlines()[2:]}
    settings = sync_definitions.about(plugin)["settings"]["properties"]
    missing = sorted(set(settings) - documented)
    assert not missing, (
        f"README lacks {plugin} settings {missing}: run python plugins/sync_definitions.py"
    )


def test_readme_stream_table_lists_every_stream_of_the_tap(sync_definitions: ModuleType) -> None:
    from tap_exactonline.streams import DIVISIONS_SPEC, STREAM_TABLE

    table = section(README.read_text(), "tap-exactonline streams")
    for spec in (*STREAM_TABLE, DIVISIONS_SPEC):
        row = next(
            (line for line in table.splitlines() if line.startswith(f"| `{spec.name}` |")), None
        )
        assert row, f"README lacks stream {spec.name}"
        assert f"`{spec.path}`" in row and all(f"`{k}`" in row for k in spec.key)


def test_readme_generated_sections_are_current(sync_definitions: ModuleType) -> None:
    text = README.read_text()
    assert sync_definitions.render_readme(text) == text, (
        "README.md is out of date with the plugins' --about: run python plugins/sync_definitions.py"
    )
