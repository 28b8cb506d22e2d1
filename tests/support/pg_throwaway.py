"""A throwaway PostgreSQL server of a test's own, which the test may stop and start at will.

Built with the installed server binaries (`/usr/lib/postgresql/*/bin/initdb`, `pg_ctl`) in a fresh
temporary folder, on a free loopback port, with trust authentication. PostgreSQL refuses to run as
root, so every server command runs as the `postgres` user (`runuser -u postgres --`) and the folder
is handed to that user. The shared server on port 5432 is never touched.

    with ThrowawayPostgres() as pg:
        url = pg.url            # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        pg.stop_immediate()     # like a crash: no checkpoint, clients cut off
        pg.start()              # crash recovery, then accepting connections again
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

RUN_AS = "postgres"


class PostgresUnavailable(RuntimeError):
    """The binaries, the `postgres` user or `runuser` are missing: tests skip with this reason."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: _version_of(p))
    if not found:
        raise PostgresUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


def _version_of(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ThrowawayPostgres:
    def __init__(self, *, port: int | None = None) -> None:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("runuser is not installed")
        try:
            self._user = pwd.getpwnam(RUN_AS)
        except KeyError:
            raise PostgresUnavailable(f"there is no '{RUN_AS}' user to run PostgreSQL as") from None
        self.bin = _bin_dir()
        self.port = port or _free_port()
        # Directly under the system temp dir: pytest's own tmp folders are root-only (0700).
        self.root = Path(tempfile.mkdtemp(prefix="meetstore-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    # --- commands -----------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", RUN_AS, "--", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}"
                f"\n{self._log_tail()}"
            )
        return proc

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        self.sockets.mkdir()
        for path in (self.root, self.sockets):
            os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            timeout=120,
        )
        self._initialised = True

    def start(self, timeout_s: float = 60.0) -> None:
        if not self._initialised:
            self.init()
        # fsync=off is safe here: `stop -m immediate` kills the server, not the machine, and the
        # kernel keeps what was written. synchronous_commit must stay on: with it off, a commit is
        # acknowledged before its WAL is written, and a kill loses it, which no production server
        # does (the worker had deleted a spool file after a commit the restart then undid).
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
            "-c fsync=off -c synchronous_commit=on -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout_s)),
            "start",
            timeout=timeout_s + 10,
        )
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
                timeout=10,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the throwaway PostgreSQL did not come up:\n{self._log_tail()}")

    def stop_immediate(self) -> None:
        """Stop at once, as a crash would (`pg_ctl stop -m immediate`): connections are cut."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def running(self) -> bool:
        if not self._initialised:
            return False
        proc = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return proc.returncode == 0

    def destroy(self) -> None:
        """Stop (if running) and delete the folder."""
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.destroy()
