"""The README's "Reverse ETL of your own data", run as written: a JSONL file of the user's own, and
a view in the user's PostgreSQL warehouse, each into target-exactonline through Meltano.

Only what a reader would change is changed: `output/` becomes a folder of the test's own, and the
placeholder server of the `export TAP_POSTGRES_...` line is the test's throwaway PostgreSQL
server (given through the same variables). The view's SQL runs as written, on a source table the
test creates.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.meltano import ROOT, MeltanoProject, connection_env
from exactonline_sandbox.harness import Sandbox
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.meltano

SECTION = "## Reverse ETL of your own data"
FENCE = re.compile(r"```(bash|sql)\n(.*?)```", re.S)


def section_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return FENCE.findall(text[start:end])


def run_bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def exact_env(
    meltano: MeltanoProject, tmp_path: Path
) -> Iterator[tuple[Sandbox, dict, dict[str, str]]]:
    """A sandbox, and the environment of a shell with `.venv` activated and the variables of
    "From that sandbox to Meltano" exported (reject and summary files in tmp_path)."""
    sandbox = Sandbox(seed=3, scale=0.05, divisions=1).start()
    grant = sandbox.grant()
    env = meltano.base_env()
    env["MELTANO_SYS_DIR_ROOT"] = str(meltano.private_sys_dir())
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(connection_env(sandbox.url, grant, tmp_path / "tokens.json"))
    env["TARGET_EXACTONLINE_REJECT_FILE"] = str(tmp_path / "rejects.jsonl")
    env["TARGET_EXACTONLINE_SUMMARY_FILE"] = str(tmp_path / "summary.json")
    yield sandbox, grant, env
    sandbox.stop()


def accounts(sandbox: Sandbox, division: int) -> dict[str, dict]:
    return {str(a["Code"]).strip(): a for a in sandbox.rows(division, "crm/Accounts")}


def test_the_readme_loads_your_own_jsonl_file_and_a_rerun_writes_nothing(
    exact_env: tuple[Sandbox, dict, dict[str, str]], tmp_path: Path
) -> None:
    sandbox, grant, env = exact_env
    [(kind, block)] = [b for b in section_blocks() if "tap-jsonl-customers" in b[1]]
    out = tmp_path / "output"
    script = (
        block.replace("$PWD/output", str(out))
        .replace("mkdir -p output", f"mkdir -p {out}")
        .replace("> output/", f"> {out}/")
    )
    assert kind == "bash" and str(out) in script and "demo/data" not in script

    done = run_bash(script, env)

    assert done.returncode == 0, done.stderr[-3000:]
    division = int(grant["divisions"][0])
    mine = [json.loads(line) for line in (out / "my-customers.jsonl").read_text().splitlines()]
    found = accounts(sandbox, division)
    for customer in mine:
        assert found[customer["Code"]]["Name"] == customer["Name"]
        assert found[customer["Code"]]["City"] == customer["City"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["streams"]["customers"]["created"] == len(mine)
    assert "2026001" not in found  # not the demo's file

    again = run_bash(script, env)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["streams"]["customers"]["unchanged"] == len(mine)
    assert summary["streams"]["customers"]["created"] == 0


def test_the_readme_loads_a_view_of_your_postgres_warehouse(
    exact_env: tuple[Sandbox, dict, dict[str, str]], postgres: PostgresServer
) -> None:
    sandbox, grant, env = exact_env
    [view] = [b for kind, b in section_blocks() if kind == "sql"]
    [(_, block)] = [b for b in section_blocks() if "tap-postgres-customers" in b[1]]
    postgres.psql(
        "CREATE SCHEMA crm; CREATE TABLE crm.customer_master (customer_code text, "
        "customer_name text, city text, email text); INSERT INTO crm.customer_master VALUES "
        "('PG2001', 'Kaasboerderij Smit', 'Gouda', 'smit@kaas.example'), "
        "('PG2002', 'Molen De Hoop', 'Delft', NULL)"
    )
    postgres.psql(view)
    # The reader's own server instead of the placeholder one: the same variables, exported.
    lines = block.replace("\\\n", " ").splitlines()
    exported = [line for line in lines if line.startswith("export TAP_POSTGRES_")]
    assert exported and "TAP_POSTGRES_HOST=" in exported[0]
    env.update(postgres.plugin_env())
    script = "\n".join(line for line in lines if line not in exported)

    done = run_bash(script, env)

    assert done.returncode == 0, done.stderr[-3000:]
    found = accounts(sandbox, int(grant["divisions"][0]))
    assert found["PG2001"]["Name"] == "Kaasboerderij Smit"
    assert found["PG2001"]["Email"] == "smit@kaas.example"
    assert found["PG2002"]["City"] == "Delft"
