"""The README's "Using the sandbox by hand" commands, run as written with bash.

Only three things are changed before running: the sandbox port (a free one instead of 8790, so
parallel tests never collide), `$PWD/output` (a folder of the test's own), and the Meltano
environment (a private system database, as every e2e test has). Everything else, curl paging
included, runs exactly as a reader would paste it.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest

from demo.meltano import ROOT, MeltanoProject

SECTION = "## Using the sandbox by hand"
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return BLOCK.findall(text[start:end])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_script(blocks: list[str], port: int, out: Path) -> str:
    body = "\n".join(blocks).replace("8790", str(port)).replace("$PWD/output", str(out))
    # The sandbox is started with `&`: stop it however the script ends.
    return f"set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n{body}\n"


def test_the_readme_sandbox_section_names_a_port_other_than_the_login_callback() -> None:
    blocks = readme_blocks()
    assert len(blocks) == 3
    assert "--port 8790" in blocks[0]
    assert "8765" not in "".join(blocks)


@pytest.mark.meltano
def test_the_readme_sandbox_commands_page_with_curl_and_feed_meltano(
    meltano: MeltanoProject, tmp_path: Path
) -> None:
    curl, to_meltano, _login = readme_blocks()
    out = tmp_path / "output"
    out.mkdir()
    env = meltano.base_env()
    env["MELTANO_SYS_DIR_ROOT"] = str(meltano.private_sys_dir())
    env["TARGET_DUCKDB_PATH"] = str(out / "warehouse.duckdb")
    done = subprocess.run(
        ["bash", "-c", as_script([curl, to_meltano], free_port(), out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 2, done.stdout
    first, last = rows
    assert set(first) >= {"ID", "GLAccountCode", "AmountDC", "Timestamp"}
    assert last["Timestamp"] > first["Timestamp"]  # the second page follows the first
    assert (out / "sandbox-tokens.json").exists()
    assert (out / "warehouse.duckdb").exists()
