"""Every `meltano ...` command in the README and docs parses with the installed Meltano.

Each command is handed to Meltano's own click command tree (without running it, in a process of
its own: tests/support/meltano_commands.py): a subcommand
that Meltano no longer has (`meltano config <plugin> list` on Meltano 4), a wrong option or a
missing argument fails here. Plugin and job names must be defined in `meltano.yml`.
Placeholders in angle brackets stand for a real name of their kind.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from demo.meltano import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDERS = {"<plugin>": "tap-exactonline", "<warehouse>": "duckdb", "...": "value"}
INLINE = re.compile(r"`((?:\.venv/bin/)?meltano [^`]+)`")
FENCED = re.compile(r"```[\w-]*\n(.*?)```", re.S)


def commands_in(path: Path) -> list[str]:
    """Inline `meltano ...` code and the `meltano` lines of fenced blocks (comments cut)."""
    text = path.read_text("utf-8")
    found = INLINE.findall(FENCED.sub("", text))
    for block in FENCED.findall(text):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith(("meltano ", ".venv/bin/meltano ")):
                found.append(line)
    return found


def all_commands() -> list[tuple[str, str]]:
    """(document, command) pairs; prose that only names the tool (`meltano ...`) is left out."""
    return [
        (path.name, command)
        for path in DOCS
        for command in commands_in(path)
        if command.split(maxsplit=1)[1] != "..."
    ]


@cache
def defined_names() -> set[str]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text("utf-8"))
    names = {job["name"] for job in project.get("jobs", [])}
    for plugins in project.get("plugins", {}).values():
        names |= {plugin["name"] for plugin in plugins}
    return names


def words(command: str) -> list[str]:
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    return shlex.split(command)[1:]


def parse_errors(commands: list[list[str]]) -> list[str | None]:
    """Per command: None, or why the installed Meltano would not parse it."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.meltano_commands"],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    verdicts: list[str | None] = json.loads(done.stdout)
    return verdicts


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str | None]:
    commands = [command for _, command in all_commands()]
    return dict(zip(commands, parse_errors([words(c) for c in commands]), strict=True))


@pytest.mark.parametrize(("doc", "command"), all_commands())
def test_a_documented_meltano_command_parses_with_the_installed_meltano(
    doc: str, command: str, verdicts: dict[str, str | None]
) -> None:
    error = verdicts[command]
    assert error is None, f"{doc}: `{command}` does not parse with the installed Meltano: {error}"
    # Names must be meltano.yml's; a placeholder (`tap-<warehouse>`) stands for the user's own.
    named = [w for w in shlex.split(command) if re.fullmatch(r"(tap|target|dbt)-[a-z0-9-:]+", w)]
    missing = [n.split(":")[0] for n in named if n.split(":")[0] not in defined_names()]
    assert not missing, f"{doc}: `{command}` names {missing}, which meltano.yml lacks"


def test_the_docs_have_meltano_commands_to_check() -> None:
    assert len(all_commands()) >= 10


def test_commands_meltano_4_does_not_have_are_caught() -> None:
    removed, wrong_option = parse_errors(
        [words("meltano config tap-exactonline list"), words("meltano run --no-such-flag x")]
    )
    assert removed and "tap-exactonline" in removed
    assert wrong_option and "--no-such-flag" in wrong_option
