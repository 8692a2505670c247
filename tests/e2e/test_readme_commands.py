"""Every `meltano ...` command in the README and docs parses with the installed Meltano.

Each command is handed to Meltano's own click command tree (without running it): a subcommand
that Meltano no longer has (`meltano config <plugin> list` on Meltano 4), a wrong option or a
missing argument fails here. Plugin and job names must be defined in `meltano.yml`.
Placeholders in angle brackets stand for a real name of their kind.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import click
import pytest
import yaml
from meltano.cli.cli import cli

from demo.meltano import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDERS = {"<plugin>": "tap-exactonline", "<warehouse>": "duckdb", "...": "value"}
INLINE = re.compile(r"`((?:\.venv/bin/)?meltano [^`]+)`")
FENCED = re.compile(r"```(?:bash|sh)?\n(.*?)```", re.S)
GLOBAL_WITH_VALUE = {"--environment", "--cwd", "--log-level", "--log-format", "--env-file"}


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


def resolve(args: list[str]) -> None:
    """Parse `args` as `meltano` would, down to the leaf command, without invoking it."""
    while args and args[0].startswith("--"):  # global options
        option = args.pop(0)
        if "=" not in option and option in GLOBAL_WITH_VALUE:
            args.pop(0)
    command: click.Command = cli
    ctx = click.Context(cli, info_name="meltano")
    while isinstance(command, click.Group):
        name, sub, args = command.resolve_command(ctx, args)
        assert sub is not None, f"no command {name!r}"
        command = sub
        ctx = click.Context(command, info_name=name, parent=ctx)
        while args and args[0].startswith("--") and isinstance(command, click.Group):
            args.pop(0)  # a group's own flags, such as `config --safe`
    # Parse as click would, without the option callbacks (they need a loaded project).
    opts, positional, _ = command.make_parser(ctx).parse_args(args=list(args))
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    needed = sum(p.nargs for p in arguments if p.required and p.nargs > 0)
    if not any(p.nargs == -1 for p in arguments):
        most = sum(max(p.nargs, 0) for p in arguments)
        assert len(positional) <= most, f"too many arguments: {positional}"
    assert len(positional) >= needed or not positional, f"missing arguments to {command.name}"


@pytest.mark.parametrize(("doc", "command"), all_commands())
def test_a_documented_meltano_command_parses_with_the_installed_meltano(
    doc: str, command: str
) -> None:
    args = words(command)
    try:
        resolve(list(args))
    except (click.UsageError, AssertionError) as exc:
        pytest.fail(f"{doc}: `{command}` does not parse with the installed Meltano: {exc}")
    # Names must be meltano.yml's; a placeholder (`tap-<warehouse>`) stands for the user's own.
    named = [w for w in shlex.split(command) if re.fullmatch(r"(tap|target|dbt)-[a-z0-9-:]+", w)]
    missing = [n.split(":")[0] for n in named if n.split(":")[0] not in defined_names()]
    assert not missing, f"{doc}: `{command}` names {missing}, which meltano.yml lacks"


def test_the_docs_have_meltano_commands_to_check() -> None:
    assert len(all_commands()) >= 10


def test_a_command_meltano_4_removed_is_caught() -> None:
    with pytest.raises((click.UsageError, AssertionError)):
        resolve(words("meltano config tap-exactonline list"))
