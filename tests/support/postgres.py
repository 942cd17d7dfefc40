"""A PostgreSQL server of a test's own, on a free loopback port: one it may stop, restart or
break without touching the machine's server that the rest of the suite (and CI) uses; and
its streaming standby (``standby()``: ``pg_basebackup -R`` on another port); a pgbouncer in
front of one (``Pgbouncer``)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.servers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
#: Debian's pgbouncer package (scripts/system-packages --test).
PGBOUNCER = Path("/usr/sbin/pgbouncer")


def available() -> str | None:
    """Why a scratch server cannot be made here; None when it can."""
    if not (BIN / "initdb").is_file():
        return f"no PostgreSQL server binaries in {BIN} (Debian's postgresql package)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no 'postgres' account to run the server as"
    return None


def pgbouncer_available() -> str | None:
    """Why a pgbouncer cannot be started here; None when it can."""
    if not PGBOUNCER.is_file():
        return f"no {PGBOUNCER} (Debian's pgbouncer package: scripts/system-packages --test)"
    return available()


def _as_postgres(command: list[str]) -> list[str]:
    """The servers run as ``postgres`` when the tests run as root (both refuse root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class ScratchPostgres:
    """``init`` a cluster in a folder of its own, then ``start`` and ``stop`` at will, and
    ``remove`` it; ``url`` for the portal. The server runs as the ``postgres`` account when
    the tests run as root (initdb refuses root), so its folder is outside pytest's, which
    only root may enter."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="madoguchi-postgres-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = 60) -> None:
        done = subprocess.run(
            _as_postgres(list(command)),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}")

    def init(self) -> ScratchPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(
            str(BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        return self

    def standby(self) -> ScratchPostgres:
        """A hot standby of this running server, streaming from it (not started yet): a base
        backup with its ``standby.signal`` and ``primary_conninfo`` (``-R``)."""
        replica = ScratchPostgres()
        if os.geteuid() == 0:
            shutil.chown(replica.root, "postgres")
        self._run(
            str(BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-D",
            str(replica.data),
            "-R",
            "-X",
            "stream",
            "--no-sync",
            "--checkpoint=fast",
            timeout=120,
        )
        return replica

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c wal_level=replica "
            "-c max_wal_senders=5 -c hot_standby=on"
        )
        self._run(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """A fast shutdown: sessions are ended and open transactions rolled back, as when an
        operator restarts the server."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def log(self) -> Path:
        return self.root / "server.log"


class Pgbouncer:
    """pgbouncer on a free loopback port in front of a running ``ScratchPostgres``, pooling
    by ``pool_mode`` (``transaction``: a server connection is a client's for one transaction
    only) with at most ``pool_size`` server connections; ``url`` for the portal."""

    def __init__(self, server: ScratchPostgres, pool_mode: str = "transaction", pool_size: int = 2):
        self.root = server.root / f"pgbouncer-{free_port()}"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.server = server
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self._pid: int | None = None

    def start(self) -> Pgbouncer:
        self.root.mkdir()
        (self.root / "users.txt").write_text('"postgres" ""\n')
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            f"""[databases]
postgres = host=127.0.0.1 port={self.server.port} dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.root / "users.txt"}
pool_mode = {self.pool_mode}
default_pool_size = {self.pool_size}
max_client_conn = 200
logfile = {self.root / "pgbouncer.log"}
pidfile = {self.root / "pgbouncer.pid"}
"""
        )
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        done = subprocess.run(
            _as_postgres([str(PGBOUNCER), "-d", str(ini)]),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pgbouncer failed: {done.stderr or done.stdout}")
        pidfile = self.root / "pgbouncer.pid"
        began = time.monotonic()
        while not pidfile.exists():
            if time.monotonic() - began > 10:
                raise RuntimeError(f"pgbouncer did not start: {self.log.read_text()}")
            time.sleep(0.05)
        self._pid = int(pidfile.read_text().strip())
        return self

    def stop(self) -> None:
        """Ends this pgbouncer, by the id it wrote (and only it)."""
        if self._pid is not None:
            os.kill(self._pid, 15)
            self._pid = None

    @property
    def log(self) -> Path:
        return self.root / "pgbouncer.log"
