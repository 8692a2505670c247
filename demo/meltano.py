"""Running the project's Meltano as a subprocess, with the settings of one sandbox grant.

The demo and the end-to-end tests drive Meltano exactly as a user does (`meltano install`,
`meltano run ...`), so this module only builds the environment: where Meltano keeps its state,
and the environment variables that carry the plugins' settings (Meltano maps
`TAP_EXACTONLINE_CLIENT_ID` to the tap's `client_id`, and so on). Secrets live only in that
environment: never on a command line (visible in `ps`) and never in a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exactonline_api.file_lock import file_lock

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"

# The prefixes of the settings this module sets; inherited values from the caller's shell are
# dropped so that a stray TAP_EXACTONLINE_REFRESH_TOKEN cannot point the demo at a real company.
PLUGIN_PREFIXES = (
    "TAP_EXACTONLINE_",
    "TARGET_EXACTONLINE_",
    "TARGET_DUCKDB_",
    "TAP_JSONL_",
    "TARGET_POSTGRES_",
    "TAP_POSTGRES_",
    "DBT_DUCKDB_",
    "DBT_POSTGRES_",
)
# Where Meltano installs plugins inside `.meltano/`, one folder per plugin type.
PLUGIN_DIRS = ("extractors", "loaders", "mappers", "utilities")
SHARED_SETTINGS = ("BASE_URL", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "TOKEN_STORE_PATH")


class MeltanoFailed(RuntimeError):
    """A Meltano command exited non-zero; the message ends with the tail of its log."""


def connection_env(base_url: str, grant: Mapping[str, object], token_store: Path) -> dict[str, str]:
    """The shared client settings for tap AND target, one token store for both.

    Exact rotates the refresh token on every refresh: two processes with separate stores would
    each refresh with the same token and one would lose the grant ("Old refresh token used").
    """
    values = {
        "BASE_URL": base_url,
        "CLIENT_ID": str(grant["client_id"]),
        "CLIENT_SECRET": str(grant["client_secret"]),
        "REFRESH_TOKEN": str(grant["refresh_token"]),
        "TOKEN_STORE_PATH": str(token_store),
    }
    env: dict[str, str] = {}
    for prefix in ("TAP_EXACTONLINE_", "TARGET_EXACTONLINE_"):
        env.update({prefix + name: values[name] for name in SHARED_SETTINGS})
    return env


@dataclass
class MeltanoProject:
    """The Meltano project at `root`, run with its own system database under `state_dir`.

    A separate system database per demo or test run means a clean state (bookmarks) every time,
    while the installed plugins under `.meltano/` are shared and installed once. Meltano also
    writes each run's files (config, catalog, `state.json`) to `.meltano/run/<plugin>/`, where
    two runs of the same tap at once (parallel tests, a demo beside them) would read each
    other's state; so every project gets a private `.meltano` (MELTANO_SYS_DIR_ROOT) whose
    plugin folders link to the shared installation.
    """

    state_dir: Path
    log_dir: Path
    environment: str = "sandbox"
    root: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)

    def private_sys_dir(self) -> Path:
        """A `.meltano` of this project's own, sharing the installed plugins by symlink."""
        private = self.state_dir / "sys"
        private.mkdir(parents=True, exist_ok=True)
        for kind in PLUGIN_DIRS:
            shared = self.root / ".meltano" / kind
            shared.mkdir(parents=True, exist_ok=True)
            link = private / kind
            if not link.is_symlink():
                link.symlink_to(shared, target_is_directory=True)
        return private

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(PLUGIN_PREFIXES)}
        env.pop("MELTANO_SYS_DIR_ROOT", None)
        env.update(
            {
                "MELTANO_ENVIRONMENT": self.environment,
                "MELTANO_DATABASE_URI": f"sqlite:///{self.state_dir / 'meltano.db'}",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_DISABLE_TRACKING": "true",
                "MELTANO_CLI_LOG_FORMAT": "uncolored",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        log_name: str,
        extra_env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run `meltano <args>` with stdout and stderr in `<log_dir>/<log_name>.log`."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{log_name}.log"
        env = self.base_env()
        if list(args[:1]) != ["install"]:
            env["MELTANO_SYS_DIR_ROOT"] = str(self.private_sys_dir())
        env.update(extra_env or {})
        with log_path.open("w") as log:
            done = subprocess.run(
                [str(MELTANO), *args],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
        if check and done.returncode != 0:
            raise MeltanoFailed(
                f"`meltano {' '.join(args)}` exited with {done.returncode}; last lines of "
                f"{log_path}:\n{tail(log_path)}"
            )
        return done

    def install(self) -> None:
        """`meltano install`: every plugin of meltano.yml into its own virtual environment.

        Serialized by a lock file: parallel test workers and a demo share `.meltano/`, and two
        installers writing one virtual environment at once would break it. An up-to-date
        plugin is skipped by Meltano, so the second caller waits a moment and returns.
        """
        lock_path = self.root / ".meltano" / "install.lock"
        with file_lock(lock_path):
            self.run(["install"], log_name="install")


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text[-lines:])
