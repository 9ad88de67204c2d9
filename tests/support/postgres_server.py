"""A throw-away PostgreSQL server from the installed Debian package, for the test suite.

initdb refuses to run as root, so under root (CI) the server runs as the `postgres` user,
in a private directory, listening only on a unix socket inside it (no TCP port to collide on).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with "
    "`apt-get update && apt-get install -y postgresql` (Debian/Ubuntu), or set "
    "MISMARTERAD_TEST_PG_BINDIR to the directory holding initdb and pg_ctl."
)
_PORT = 54329  # only names the socket file; the server opens no TCP port


class PostgresNotInstalled(RuntimeError):
    pass


def find_bindir() -> Path:
    explicit = os.environ.get("MISMARTERAD_TEST_PG_BINDIR")
    candidates = [explicit] if explicit else []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgresNotInstalled(INSTALL_HINT)


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    user: str | None  # the unprivileged account the server runs as (None: ourselves)

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={_PORT}"

    def _run(self, *cmd: str) -> None:
        full = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.user is not None:
            full = ["runuser", "-u", self.user, "--", *full]
        proc = subprocess.run(full, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(full)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def start(self) -> None:
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        opts = f"-k {self.socket_dir} -p {_PORT} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-o", opts, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database (a copy of `template` if given, which is much faster than migrating)."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=_PORT, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)


def start_server() -> PostgresServer:
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="mismarterad-pg-"))
    user = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresNotInstalled("running as root needs the `postgres` user; " + INSTALL_HINT) from None
        os.chown(root, account.pw_uid, account.pw_gid)
        user = "postgres"
    server = PostgresServer(bindir, root, user)
    server.start()
    return server
