"""A throwaway PostgreSQL server for the tests that use PostgreSQL (warehouse, shared token store).

The Debian package's binaries (`pg_config --bindir`, or /usr/lib/postgresql/<version>/bin) make
a fresh cluster in a temporary folder with `initdb`, and `pg_ctl` starts it on a free loopback
port with password authentication (scram-sha-256) and no Unix socket outside that folder.
`initdb` refuses to run as root, so as root (CI) the cluster belongs to the `postgres` user and
the binaries run through `runuser`. `make test` installs the package when it is missing.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (run `make postgres`)."""


def server_bindir() -> Path:
    """Folder holding initdb, pg_ctl and psql of the installed server."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable("PostgreSQL server binaries not found; run `make postgres`")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """One cluster with one database and one password-protected user, on 127.0.0.1."""

    database: str = "warehouse"
    user: str = "warehouse"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    port: int = field(default_factory=free_port)
    bindir: Path = field(default_factory=server_bindir)
    root: Path | None = None

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """A server binary, as the cluster's owner."""
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def start(self) -> PostgresServer:
        # Not under pytest's tmp path: as root that is private to root, and the server runs as
        # `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="exactonline-pg-"))
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.root, SERVICE_USER)
            shutil.chown(pwfile, SERVICE_USER)
        os.chmod(pwfile, 0o600)
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        self.resume()
        self.psql("CREATE DATABASE " + self.database, database="postgres")
        return self

    def pause(self) -> None:
        """Stop the server, keeping its data (the database 'goes away' in the middle of a run)."""
        assert self.root is not None
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server (again) on the same port and data."""
        assert self.root is not None
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.root / "data"), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "start",
        )  # fmt: skip

    @property
    def url(self) -> str:
        """The database as a libpq URL (password included: a secret)."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def psql(self, sql: str, *, database: str | None = None) -> list[tuple[str, ...]]:
        """Rows of `sql` as tuples of strings (psql's unaligned output; NULL is '')."""
        command = [
            str(self.bindir / "psql"),
            "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
            "-d", database or self.database,
            "-X", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ]  # fmt: skip
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PGPASSWORD": self.password},
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return [tuple(line.split("\x1f")) for line in done.stdout.splitlines() if line]

    def plugin_env(self) -> dict[str, str]:
        """The connection, as the environment of target-postgres, tap-postgres and dbt-postgres."""
        env: dict[str, str] = {}
        for prefix in ("TARGET_POSTGRES_", "TAP_POSTGRES_"):
            env.update(
                {
                    prefix + "HOST": "127.0.0.1",
                    prefix + "PORT": str(self.port),
                    prefix + "USER": self.user,
                    prefix + "PASSWORD": self.password,
                    prefix + "DATABASE": self.database,
                }
            )
        env.update(
            {
                "DBT_POSTGRES_HOST": "127.0.0.1",
                "DBT_POSTGRES_PORT": str(self.port),
                "DBT_POSTGRES_USER": self.user,
                "DBT_POSTGRES_PASSWORD": self.password,
                "DBT_POSTGRES_DBNAME": self.database,
            }
        )
        return env
