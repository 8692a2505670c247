"""The grant outlives the machine: tap and target workers share a PostgreSQL token store.

Each "machine" here is a folder of its own with its own HOME (so its own default token store
file, which must stay unused): the workers share nothing but the PostgreSQL server started by
the test and the sandbox they call. Tokens are short and limits tight, so the grant rotates and
the budget runs out several times during one test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.meltano import MeltanoProject
from exactonline_api.pg_store import PostgresTokenStore
from exactonline_sandbox.harness import Sandbox
from tests.support.postgres import PostgresServer
from tests.support.tap_runner import TapRunner
from tests.target.singer_run import RunningTarget, invoices_for, start_target

INVOICES = "salesinvoice/SalesInvoices"
READS = ["gl_accounts", "items", "payments", "receivables", "sales_orders", "transaction_lines"]


@dataclass
class Machine:
    """A worker's own folder and HOME; `env` is what its processes run with."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "EXACTONLINE_"))}
        env["HOME"] = str(self.root / "home")
        return env

    def state_files(self) -> list[Path]:
        """Files the connector left in this machine's HOME (the default token store's folder)."""
        folder = self.root / "home" / ".local" / "state" / "exactonline"
        return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def machine(tmp_path: Path) -> Callable[[str], Machine]:
    def make(name: str) -> Machine:
        root = tmp_path / name
        (root / "home").mkdir(parents=True)
        return Machine(root)

    return make


def tap_config(sb: Sandbox, grant: dict[str, Any], url: str, **extra: Any) -> dict[str, Any]:
    """The same settings on every worker: no token_store_path, the grant is in the database."""
    return {
        "client_id": grant["client_id"],
        "client_secret": grant["client_secret"],
        "refresh_token": grant["refresh_token"],
        "base_url": sb.url,
        "token_store_url": url,
        **extra,
    }


def start_tap(
    sb: Sandbox, grant: dict[str, Any], where: Machine, config: dict[str, Any], streams: list[str]
) -> subprocess.Popen[str]:
    runner = TapRunner(sb, grant, where.root)
    command = runner.command(streams=streams)
    # the command's config file holds TapRunner's defaults: replace it with the worker's settings
    Path(command[command.index("--config") + 1]).write_text(json.dumps(config))
    return subprocess.Popen(
        command, cwd=where.root, env=where.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]], str]:
    out, err = proc.communicate(timeout=240)
    return proc.returncode, [json.loads(line) for line in out.splitlines() if line.strip()], err


def records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def secrets_in_play(grant: dict[str, Any], pg: PostgresServer) -> list[str]:
    """The app secret, every token the store holds now, the database password."""
    rows = pg.psql("SELECT state->>'refresh_token', state->>'access_token' FROM exactonline_grants")
    tokens = [value for row in rows for value in row if value]
    return [grant["client_secret"], grant["refresh_token"], pg.password, *tokens]


def assert_no_secret(texts: list[str], secrets: list[str]) -> None:
    blob = "\n".join(texts)
    for number, secret in enumerate(secrets):
        if secret and secret in blob:
            pytest.fail(f"secret #{number} leaked into a log", pytrace=False)


def target_on(where: Machine, config: dict[str, Any], messages: list[dict[str, Any]]) -> Any:
    return start_target(where.root, config, messages, "target", env=where.env)


def test_two_runs_in_fresh_folders_with_the_same_settings_both_succeed(
    sandbox_factory: Callable[..., Sandbox],
    postgres: PostgresServer,
    machine: Callable[[str], Machine],
) -> None:
    # Exact rotates the refresh token on the first run; a per-worker file store would lose it
    # with the worker and the second run would send the dead token from its settings.
    sb = sandbox_factory(scale=0.02, divisions=1, token_lifetime=600)
    grant = sb.grant()
    config = tap_config(sb, grant, postgres.url)
    outcomes = []
    for name in ("first", "second"):
        where = machine(name)
        outcomes.append((where, finish(start_tap(sb, grant, where, config, ["gl_accounts"]))))
    for where, (code, messages, err) in outcomes:
        assert code == 0, err[-3000:]
        assert records(messages, "gl_accounts")
        assert where.state_files() == []  # nothing kept on the worker
    stats = sb.stats()
    assert stats["token_errors"] == {}
    assert stats["token_calls"] == 1  # the second run used the first run's token
    assert_no_secret([err for _, (_, _, err) in outcomes], secrets_in_play(grant, postgres))


def test_three_taps_and_a_target_on_two_divisions_share_one_grant_and_budget(
    sandbox_factory: Callable[..., Sandbox],
    postgres: PostgresServer,
    machine: Callable[[str], Machine],
) -> None:
    lifetime = 3.0
    sb = sandbox_factory(
        seed=5,
        scale=0.05,
        divisions=2,
        token_lifetime=lifetime,
        refresh_window=1,
        minute_seconds=2,
        minutely_limit=5,
        access_log=False,
    )
    grant = sb.grant()
    first, second = (int(d) for d in grant["divisions"][:2])
    tag = uuid.uuid4().hex[:8].upper()
    messages = invoices_for(sb, first, [f"PG-{tag}-{n}" for n in range(6)])
    started = time.time()
    taps = [
        start_tap(sb, grant, machine(f"tap-{n}"), tap_config(sb, grant, postgres.url, **extra), s)
        for n, (extra, s) in enumerate(
            [
                ({"divisions": [first]}, READS),
                ({"divisions": [second]}, READS),
                ({"divisions": [first, second]}, ["customers", "contacts"]),
            ]
        )
    ]
    writer = machine("target")
    target: RunningTarget = target_on(
        writer, tap_config(sb, grant, postgres.url, division=first), messages
    )
    outcomes = [finish(tap) for tap in taps]
    written = target.finish()
    elapsed = time.time() - started

    stats = sb.stats()
    context = {k: v for k, v in stats.items() if k != "windows"}
    for code, _, err in outcomes:
        assert code == 0, err[-3000:]
    assert written.returncode == 0, written.stderr[-3000:]
    assert written.summary["streams"]["sales_invoices"]["created"] == 6
    assert stats["token_errors"] == {}, context
    assert stats["by_status"].get("429", 0) == 0, context
    # the budget really was spent and waited for: more calls than one window allows
    assert min(stats["by_division"].values()) > 5, context
    # one refresh per token lifetime across all four workers, not one per worker
    assert 2 <= stats["token_calls"] <= math.ceil(elapsed / (lifetime - 1)) + 1, (elapsed, context)
    assert_no_secret(
        [err for _, _, err in outcomes] + [written.stderr], secrets_in_play(grant, postgres)
    )


def test_the_database_stopping_mid_run_is_a_clear_error_and_the_next_run_succeeds(
    sandbox_factory: Callable[..., Sandbox],
    postgres: PostgresServer,
    machine: Callable[[str], Machine],
) -> None:
    # A tight budget keeps the tap waiting on the shared throttle while the database goes away.
    sb = sandbox_factory(
        scale=0.05, divisions=1, minute_seconds=30, minutely_limit=3, access_log=False
    )
    grant = sb.grant()
    config = tap_config(sb, grant, postgres.url)
    tap = start_tap(sb, grant, machine("cut"), config, ["gl_accounts", "items", "customers"])
    while sb.stats()["api_calls"] < 3 and tap.poll() is None:
        time.sleep(0.05)
    postgres.pause()
    code, _, err = finish(tap)
    postgres.resume()
    assert code != 0
    assert "token store (PostgreSQL postgresql://warehouse:[REDACTED]@127.0.0.1:" in err
    assert "Traceback" not in err
    sb.reset_stats()

    rerun = machine("rerun")
    code, messages, again = finish(start_tap(sb, grant, rerun, config, ["gl_accounts"]))
    assert code == 0, again[-3000:]
    assert records(messages, "gl_accounts")
    assert sb.stats()["token_errors"] == {}
    assert_no_secret([err, again], secrets_in_play(grant, postgres))


def test_an_unreachable_store_stops_the_run_without_falling_back_to_a_file(
    sandbox: Sandbox, machine: Callable[[str], Machine]
) -> None:
    grant = sandbox.grant()
    password = "pw-" + uuid.uuid4().hex
    with PostgresServer() as stopped:  # a port nobody listens on once it is stopped
        port = stopped.port
    url = f"postgresql://someone:{password}@127.0.0.1:{port}/tokens"
    where = machine("offline")
    code, messages, err = finish(
        start_tap(sandbox, grant, where, tap_config(sandbox, grant, url), ["gl_accounts"])
    )
    assert code != 0
    assert not records(messages, "gl_accounts")
    assert (
        f"token store (PostgreSQL postgresql://someone:[REDACTED]@127.0.0.1:{port}/tokens)" in err
    )
    assert "Traceback" not in err
    assert where.state_files() == []  # no local copy of the grant was started
    assert_no_secret([err], [password, grant["client_secret"], grant["refresh_token"]])


def test_a_target_on_another_machine_waits_for_the_division_s_writer_and_says_for_whom(
    sandbox: Sandbox, postgres: PostgresServer, machine: Callable[[str], Machine]
) -> None:
    grant = sandbox.grant()
    division = int(grant["divisions"][0])
    tag = uuid.uuid4().hex[:8].upper()
    config = tap_config(sandbox, grant, postgres.url, division=division)
    other = PostgresTokenStore(postgres.url, grant["client_id"])  # a writer elsewhere
    with other.division_write_lock(division):
        run = target_on(machine("waits"), config, invoices_for(sandbox, division, [f"PG-{tag}-0"]))
        while "waiting for it to finish" not in run.stderr and run.proc.poll() is None:
            time.sleep(0.05)
        assert run.proc.poll() is None, run.stderr[-3000:]
        assert f"pid {os.getpid()} on " in run.stderr
        before = len(sandbox.rows(division, INVOICES))
        assert not any(r.get("YourRef") == f"PG-{tag}-0" for r in sandbox.rows(division, INVOICES))
    done = run.finish()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.summary["streams"]["sales_invoices"]["created"] == 1
    assert len(sandbox.rows(division, INVOICES)) == before + 1
    assert_no_secret([done.stderr], secrets_in_play(grant, postgres))


@pytest.mark.meltano
def test_division_group_jobs_run_as_separate_workers_with_grant_and_state_in_postgres(
    meltano_installed: None,
    sandbox_factory: Callable[..., Sandbox],
    postgres: PostgresServer,
    machine: Callable[[str], Machine],
) -> None:
    """meltano.yml's prod environment: two group jobs at once, each on a worker of its own (own
    HOME, own .meltano), sharing only PostgreSQL: the grant, the budget and Meltano's state."""
    sb = sandbox_factory(scale=0.02, divisions=2, access_log=False)
    grant = sb.grant()
    first, second = grant["divisions"][:2]
    shared = {
        "EXACTONLINE_CLIENT_ID": grant["client_id"],
        "EXACTONLINE_CLIENT_SECRET": grant["client_secret"],
        "EXACTONLINE_REFRESH_TOKEN": grant["refresh_token"],
        "EXACTONLINE_TOKEN_STORE_URL": postgres.url,
        "EXACTONLINE_GROUP_A_DIVISIONS": json.dumps([first]),
        "EXACTONLINE_GROUP_B_DIVISIONS": json.dumps([second]),
        "TAP_EXACTONLINE_BASE_URL": sb.url,  # the sandbox instead of the region's host
        "MELTANO_DATABASE_URI": postgres.url.replace("postgresql://", "postgresql+psycopg://"),
        **postgres.plugin_env(),
    }
    workers = []
    for job in ("exact-group-a", "exact-group-b"):
        where = machine(job)
        env = {**shared, "HOME": str(where.root / "home")}
        project = MeltanoProject(
            state_dir=where.root / "meltano", log_dir=where.root, environment="prod", env=env
        )
        workers.append((where, project, job))
    # the deployment's one-off step: Meltano's tables in the shared system database
    workers[0][1].run(["upgrade", "database"], log_name="migrate")
    # ... and the warehouse's tables: target-postgres creates a stream's table on first sight,
    # and two loaders creating the same table at once collide (DuplicateTable), so the first run
    # of one group goes alone (README, "Production: jobs on several workers")
    workers[0][1].run(["run", "exact-group-a"], log_name="first-exact-group-a")
    results: dict[str, int] = {}
    threads = [
        threading.Thread(
            target=lambda p=p, j=j: results.update({j: p.run(["run", j], log_name=j).returncode})
        )
        for _, p, j in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {"exact-group-a": 0, "exact-group-b": 0}
    assert {row[0] for row in postgres.psql("SELECT state_id FROM state")} == {
        "prod:tap-exactonline--group-a-to-target-postgres",
        "prod:tap-exactonline--group-b-to-target-postgres",
    }
    divisions = postgres.psql('SELECT DISTINCT "Division" FROM exactonline.gl_accounts')
    assert {int(row[0]) for row in divisions} == {int(first), int(second)}
    stats = sb.stats()
    assert stats["token_errors"] == {}
    assert stats["token_calls"] == 1  # one grant for both workers
    for where, _, _job in workers:
        assert where.state_files() == []
    logs = [path.read_text() for where, _, _job in workers for path in where.root.rglob("*.log")]
    assert_no_secret(logs, secrets_in_play(grant, postgres))
