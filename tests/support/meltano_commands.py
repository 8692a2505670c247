"""Parse `meltano ...` command lines with the installed Meltano's own click tree, run nothing.

Run as `python -m tests.support.meltano_commands` with a JSON list of argument lists on stdin; it
prints a JSON list with, per command, None or the reason it does not parse. It runs in a process
of its own because importing Meltano's CLI reconfigures logging for the whole process.
"""

from __future__ import annotations

import json
import sys

import click

GLOBAL_WITH_VALUE = {"--environment", "--cwd", "--log-level", "--log-format", "--env-file"}


def resolve(cli: click.Group, args: list[str]) -> None:
    """Walk `args` down Meltano's command groups and parse the leaf's options and arguments."""
    while args and args[0].startswith("--"):  # global options
        option = args.pop(0)
        if "=" not in option and option in GLOBAL_WITH_VALUE:
            args.pop(0)
    command: click.Command = cli
    ctx = click.Context(cli, info_name="meltano")
    while isinstance(command, click.Group):
        name, sub, args = command.resolve_command(ctx, args)
        if sub is None:
            raise click.UsageError(f"no command {name!r}")
        command = sub
        ctx = click.Context(command, info_name=name, parent=ctx)
        while args and args[0].startswith("--") and isinstance(command, click.Group):
            args.pop(0)  # a group's own flags, such as `config --safe`
    # The parser alone: option callbacks would need a loaded project.
    _, positional, _ = command.make_parser(ctx).parse_args(args=list(args))
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    needed = sum(p.nargs for p in arguments if p.required and p.nargs > 0)
    if not any(p.nargs == -1 for p in arguments):
        most = sum(max(p.nargs, 0) for p in arguments)
        if len(positional) > most:
            raise click.UsageError(f"too many arguments: {positional}")
    if positional and len(positional) < needed:
        raise click.UsageError(f"missing arguments to {command.name}")


def main() -> None:
    from meltano.cli.cli import cli

    verdicts = []
    for args in json.load(sys.stdin):
        try:
            resolve(cli, list(args))
            verdicts.append(None)
        except click.UsageError as exc:
            verdicts.append(exc.format_message())
    print(json.dumps(verdicts))


if __name__ == "__main__":
    main()
