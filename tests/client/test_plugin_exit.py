"""The tap's and the target's processes end without CPython's last walks over their objects."""

from __future__ import annotations

import subprocess
import sys

import pytest

# An exit hook registered before the command runs is called after the command's own (atexit
# calls them last in, first out): it sees what the process's exit is left with.
PROGRAM = """
import atexit, gc, sys
atexit.register(lambda: sys.stderr.write("frozen at exit: %d\\n" % gc.get_freeze_count()))
from {module} import {plugin}
{plugin}.cli(["--about", "--format", "json"])
"""


@pytest.mark.parametrize(
    ("module", "plugin"),
    [("tap_exactonline.tap", "TapExactOnline"), ("target_exactonline.target", "TargetExactOnline")],
)
def test_the_command_freezes_what_is_alive_at_exit_so_the_last_collections_skip_it(
    module: str, plugin: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(module=module, plugin=plugin)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"name"' in done.stdout  # the command did its work
    frozen = int(done.stderr.rsplit("frozen at exit: ", 1)[1].split()[0])
    assert frozen > 10_000  # the modules, the catalogue and the settings schema
