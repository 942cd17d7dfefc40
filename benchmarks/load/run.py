"""The March peak against the production profile on this machine, in one command.

Run by hand from the repository root, with the ``bench`` extra installed
(``.venv/bin/pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/load/run.py --duration 600 --users 150
    .venv/bin/python benchmarks/load/run.py --duration 60 --ceiling   # and the hello ceiling

It starts, all on loopback: a fresh PostgreSQL database (``--database``, dropped first and
at the end unless ``--keep``) prepared as ``make database`` prepares one (migrations,
definitions, municipalities, the provider's keys, the status list key, the demo data, the
signing keys, the demo queues); the development provider with ``--personas`` load personas
(under gunicorn); the portal under gunicorn with the repository's ``gunicorn.conf.py``;
``--job-workers`` procrastinate workers (``flask --app portal worker``); request limits
counted in Redis (db 12, emptied first). Then it records the moving journey's answers once
(as ``benchmarks/journey.py`` does), runs locust headless with
``benchmarks/load/locustfile.py`` for ``--duration`` seconds, and every 10 s samples the
memory (RSS) of every process and PostgreSQL's connections (``pg_stat_activity``).

Afterwards it counts the cases submitted in the database against locust's successful
submissions and checks every receipt number locust saw is there exactly once, and prints
a Markdown block with the figures (``--json`` writes them too).

``--fault`` restarts PostgreSQL, kills a job worker or takes the SMTP server down (for
``--fault-for`` seconds) ``--fault-at`` seconds into the load. Throughout, a job worker that
exits with a failure is started again 5 s later, as the worker unit's ``Restart=on-failure``
does; the block then says when requests failed.

``--mail`` (and ``--fault smtp-down``) turns e-mail on: an SMTP server on loopback
(aiosmtpd) receives what the job workers send, and each resident first turns on e-mail
notifications to the address the provider verified (the settings page, one click). After the
load, once every message has been e-mailed, the messages are counted against the mails
received: each one once.

Production settings, except what a load test on one machine needs: ``PORTAL_ENV`` stays
``development`` because the development provider stands in for the My Number card (the
portal refuses it in production, and the provider refuses to run there); secrets are random
per run; the request limits keep their production values, and since every person's
requests come from 127.0.0.1 here, each locust user sends its own client address in
``X-Forwarded-For`` and the portal trusts one proxy (``PORTAL_TRUSTED_PROXIES=1``), as
behind the TLS proxy production runs behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO_ROOT / "benchmarks"
# As benchmarks/journey.py: this folder's neighbours (benchmarks/queue.py) must not stand in
# for the standard library's modules.
sys.path[:] = [
    p for p in sys.path if Path(p or ".").resolve() not in (BENCH_DIR, BENCH_DIR / "load")
]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402  (installed with locust, the bench extra)

from benchmarks.journey import (  # noqa: E402
    Cleanup,
    Server,
    Target,
    free_port,
    portal_app,
    record_route,
    stop_process,
    wait_until_healthy,
)
from tests.support.mail import SmtpSink  # noqa: E402  (aiosmtpd, from the test extra)

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
FAULTS = ("database-restart", "job-worker-kill", "smtp-down")
#: What the worker unit waits before starting a killed worker again (RestartSec=).
WORKER_RESTART_SECONDS = 5.0
SAMPLE_SECONDS = 10.0
BACKENDS = "postgresql backends (sum)"
USER_CLASSES = ("Resident", "ReturningResident", "Clerk")
CLIENT_ID = "madoguchi-portal"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    parser.add_argument("--users", type=int, default=150, help="concurrent locust users (150)")
    parser.add_argument("--spawn-rate", type=float, default=25.0, help="users started per s")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a person reads a page (1.0)"
    )
    parser.add_argument("--processes", type=int, default=1, help="locust processes (1)")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=len(os.sched_getaffinity(0)) + 1,
        help="gunicorn workers (cores + 1, as README advises where PostgreSQL shares the host)",
    )
    parser.add_argument("--job-workers", type=int, default=1, help="procrastinate workers")
    parser.add_argument(
        "--job-nice",
        type=int,
        default=10,
        help="the job workers' niceness (10, as deploy/madoguchi-worker@.service; 0: none)",
    )
    parser.add_argument("--personas", type=int, default=100_000, help="load personas")
    parser.add_argument("--database", default="load", help="PostgreSQL database (dropped!)")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--ceiling", action="store_true", help="then hello.py, as long")
    parser.add_argument("--keep", action="store_true", help="keep the database and folder")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON too")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile each portal request and job into this folder (profiles.py)",
    )
    parser.add_argument(
        "--fault",
        choices=FAULTS,
        help="during the load: restart PostgreSQL (pg_ctlcluster), or SIGKILL a job worker and"
        " start it again 5 s later as systemd would",
    )
    parser.add_argument(
        "--fault-at", type=float, help="seconds into the load for --fault (a third of it)"
    )
    parser.add_argument(
        "--fault-for", type=float, default=60.0, help="seconds the SMTP server stays down (60)"
    )
    parser.add_argument(
        "--mail", action="store_true", help="e-mail on: residents ask for it, a sink takes it"
    )
    args = parser.parse_args(argv)
    args.mail = args.mail or args.fault == "smtp-down"
    if args.mail and args.job_workers < 1:
        parser.error("--mail and --fault smtp-down need a job worker to send the mail")
    if args.fault == "job-worker-kill" and args.job_workers < 1:
        parser.error("--fault job-worker-kill needs a job worker")
    if args.database in ("postgres", "template0", "template1"):
        parser.error(f"refusing to drop the database {args.database!r}")
    return args


# The machine --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    memory = next(
        line
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(memory.split()[1]) / 1024 / 1024, 1),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


# PostgreSQL and Redis ----------------------------------------------------------------------


def recreate_database(args: argparse.Namespace, cleanup: Cleanup) -> str:
    import psycopg
    from psycopg import sql

    name = sql.Identifier(args.database)
    admin = f"{args.pg_url.rstrip('/')}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    if not args.keep:
        cleanup.add("database", drop)
    return f"{args.pg_url.rstrip('/')}/{args.database}"


def redis_for_limits(args: argparse.Namespace, workdir: Path, cleanup: Cleanup) -> str:
    """The Redis the limits are counted in, its db emptied; one of our own on a free
    loopback port when none answers and ``redis-server`` is installed."""
    import redis

    url = args.redis_url
    try:
        redis.Redis.from_url(url, socket_timeout=2).flushdb()
        return url
    except redis.RedisError:
        if shutil.which("redis-server") is None:
            raise SystemExit(f"no Redis at {url}, and redis-server is not installed") from None
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    cleanup.add("redis", lambda: stop_process(process))  # type: ignore[arg-type]
    url = f"redis://127.0.0.1:{port}/12"
    for _ in range(50):
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(url).ping()
            return url
        time.sleep(0.1)
    raise SystemExit("the Redis started for the limits did not answer")


# The portal's environment and database -----------------------------------------------------


@dataclass
class Ports:
    portal: int = field(default_factory=free_port)
    idp: int = field(default_factory=free_port)
    hello: int = field(default_factory=free_port)


def environment(
    args: argparse.Namespace, workdir: Path, database_url: str, redis_url: str, ports: Ports
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    portal_url = f"http://127.0.0.1:{ports.portal}"
    env.update(
        PORTAL_INSTANCE_PATH=str(workdir / "instance"),
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
        PORTAL_PSEUDONYM_KEY=secrets.token_urlsafe(48),
        PORTAL_BASE_URL=portal_url,
        PORTAL_DEVIDP_ISSUER=f"http://127.0.0.1:{ports.idp}",
        PORTAL_DEVIDP_PORTAL_URL=portal_url,
        PORTAL_DEVIDP_LOAD_PERSONAS=str(args.personas),
        PORTAL_RATELIMIT_STORAGE_URI=redis_url,
        PORTAL_RATE_LIMITS_ENABLED="true",
        PORTAL_TRUSTED_PROXIES="1",
    )
    return env


def mail_environment(sink: SmtpSink) -> dict[str, str]:
    """The portal's and the workers' settings for the sink, and the locustfile's switch."""
    return {
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(sink.port),
        "PORTAL_SMTP_STARTTLS": "false",
        "PORTAL_MAIL_FROM": "noreply@load.example.jp",
        "LOAD_MAIL": "1",
    }


MAKE_DATABASE = (
    ["db", "upgrade"],
    ["definitions", "load"],
    ["municipalities", "load"],
    ["--app", "portal.devidp", "init-keys"],
    ["status-lists", "init-key"],
    ["demo", "load"],
    ["signing", "demo-keys"],
    ["demo", "queues"],
)


def flask(arguments: list[str], env: dict[str, str], timeout: float = 600) -> None:
    app = [] if arguments[0] == "--app" else ["--app", "portal"]
    done = subprocess.run(
        [sys.executable, "-m", "flask", *app, *arguments],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")


def prepare(env: dict[str, str]) -> None:
    Path(env["PORTAL_INSTANCE_PATH"]).mkdir()
    started = time.monotonic()
    for arguments in MAKE_DATABASE:
        flask(arguments, env)
    log(f"database prepared as `make database` does in {time.monotonic() - started:.0f} s")


def record(env: dict[str, str], workdir: Path) -> Path:
    """The moving journey's pages and answers, walked once through the test client."""
    from portal.accounts.services import record_sign_in
    from portal.devidp.personas import load_persona
    from portal.extensions import db

    persona = load_persona("load-0001", 1)
    assert persona is not None
    claims = {**persona.identity_claims({"openid", "profile", "address"}), "acr": persona.acr}
    target = Target(
        "postgresql", env["PORTAL_DATABASE_URL"], Path(env["PORTAL_INSTANCE_PATH"]), env
    )
    with portal_app(target) as app:
        with app.app_context():
            account = record_sign_in(app.config["DEVIDP_ISSUER"], "load-recorder", claims)
            db.session.commit()
            account_id = account.id
        first, pages = record_route(app, account_id)
    route = workdir / "route.json"
    route.write_text(json.dumps({"first": first, "pages": pages}, default=_file_answer))
    log(f"moving journey recorded: {len(pages)} pages from {first!r} to the check page")
    return route


def _file_answer(value: Any) -> Any:
    """A recorded upload (bytes, file name) as JSON for the locustfile."""
    import base64

    if isinstance(value, tuple):
        content, filename = value
        raw = content.getvalue() if hasattr(content, "getvalue") else bytes(content)
        kind = "application/pdf" if filename.endswith(".pdf") else "application/octet-stream"
        return {"file": base64.b64encode(raw).decode(), "filename": filename, "type": kind}
    raise TypeError(f"cannot record {type(value).__name__}")


# Processes ------------------------------------------------------------------------------------


def gunicorn(
    name: str,
    spec: str,
    port: int,
    workers: int,
    env: dict[str, str],
    workdir: Path,
    cleanup: Cleanup,
) -> Server:
    """gunicorn from the repository's folder, so that it reads ``gunicorn.conf.py``; sync
    workers as README's "Production" says."""
    log_path = workdir / f"{name}.log"
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning",
        "--error-logfile", str(log_path), spec,
    ]  # fmt: skip
    with open(log_path, "ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    cleanup.add(name, lambda: stop_process(process))
    return server


def wait_for_provider(url: str, limit: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/.well-known/openid-configuration", timeout=2).ok:
                return
        time.sleep(0.2)
    raise RuntimeError("the development provider did not answer")


def job_workers(
    count: int,
    nice: int,
    env: dict[str, str],
    workdir: Path,
    cleanup: Cleanup,
    profiled: bool,
    suffix: str = "",
) -> list[psutil.Popen]:
    """The job workers, below the web workers' priority as under systemd: here every process
    shares one cgroup, so ``nice`` does what the unit's CPUWeight does there. Profiled: each
    job into ``LOAD_PROFILE_DIR`` (``profiled_worker.py``).

    Each process here starts a session of its own, and Linux's autogroup scheduling shares
    the CPU out between sessions first, each one's nice only counting inside it: a worker at
    nice 10 alone in its session got as much CPU as the five web workers together. So the
    session's own niceness (``/proc/PID/autogroup``) is set as well."""
    worker = (
        ["-m", "benchmarks.load.profiled_worker"]
        if profiled
        else ["-m", "flask", "--app", "portal", "worker"]
    )
    started = []
    for index in range(count):
        name = f"worker-{index + 1}{'-' + suffix if suffix else ''}"
        out = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        process = subprocess.Popen(
            ["nice", "-n", str(nice), sys.executable, *worker],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        cleanup.add(name, lambda p=process: stop_process(p))
        set_autogroup_nice(process.pid, nice)
        started.append(process)
    return started


def set_autogroup_nice(pid: int, nice: int) -> None:
    """The niceness of the process's autogroup, where the kernel has autogroups."""
    with contextlib.suppress(FileNotFoundError):
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n")


def autogroup_of(pid: int) -> str:
    """The kernel's word on the process's autogroup ("/autogroup-85 nice 10"); "" without."""
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().strip()
    except FileNotFoundError:
        return ""


def drain_jobs(database_url: str, limit: float = 900.0) -> int:
    """Wait until the workers have run every job ready now, and return how many there were.

    Before the load: the demo queues' certificates (a portal in service has no such backlog,
    and rendering it would load the measurement). After it: what the peak left for later."""
    import psycopg

    started = time.monotonic()
    query = (
        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        " AND (scheduled_at IS NULL OR scheduled_at <= now())"
    )
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(query).fetchone()
        first = int(row[0]) if row else 0
        while time.monotonic() - started < limit:
            row = connection.execute(query).fetchone()
            if not row or not row[0]:
                log(f"job backlog of {first} run in {time.monotonic() - started:.0f} s")
                return first
            time.sleep(1.0)
    raise RuntimeError(f"the job workers did not run the backlog in {limit:.0f} s")


# Faults, and the restarts systemd would make ----------------------------------------------------


class Background:
    """A daemon thread running ``_run`` from ``start`` until ``stop`` sets ``_stop``."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        raise NotImplementedError


class Supervisor(Background):
    """What the worker unit's ``Restart=on-failure`` and ``RestartSec=5s`` do under systemd:
    a job worker that exits with a failure (or is killed) is started again 5 s later, one
    that exits with status 0 stays down. Each start again is logged and listed."""

    def __init__(self, workers: list[psutil.Popen], start_again: Any) -> None:
        super().__init__()
        self.workers, self.start_again = workers, start_again  # (index) -> the new process
        self.restarts: list[str] = []

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for index, worker in enumerate(self.workers):
                status = worker.poll()
                if status is None or status == 0:
                    continue
                if self._stop.wait(WORKER_RESTART_SECONDS):
                    return
                self.workers[index] = self.start_again(index)
                said = f"job worker {index + 1} exited with {status}, started again"
                self.restarts.append(said)
                log(said)


class Fault:
    """One fault, ``at`` seconds after it is started (with the load), from a thread of its own:
    the times it began and was over (the database answering again, the worker started again),
    as Unix times to set beside locust's requests by the second."""

    def __init__(
        self,
        kind: str,
        at: float,
        database_url: str,
        kill_worker: Any,
        sink: SmtpSink | None = None,
        down_for: float = 60.0,
    ) -> None:
        self.kind, self.at, self.database_url = kind, at, database_url
        self.kill_worker = kill_worker  # () -> what was killed and what replaced it
        self.sink, self.down_for = sink, down_for
        self.began: float | None = None
        self.over: float | None = None
        self.detail = ""
        self.error = ""
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        time.sleep(self.at)
        self.began = time.time()
        try:
            if self.kind == "database-restart":
                self.detail = restart_database(self.database_url)
            elif self.kind == "smtp-down":
                assert self.sink is not None
                self.detail = smtp_down(self.sink, self.down_for)
            else:
                self.detail = self.kill_worker()
        except Exception as error:  # reported with the figures, not lost in a thread
            self.error = f"{type(error).__name__}: {error}"
        self.over = time.time()
        log(f"fault {self.kind}: {self.detail or self.error}, {self.over - self.began:.1f} s")


def restart_database(database_url: str) -> str:
    """Restart the Debian cluster serving the URL's port (``pg_ctlcluster``: a fast shutdown,
    every connection cut) and wait until it takes connections again."""
    import psycopg

    port = urlsplit(database_url).port or 5432
    listed = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout
    cluster = next((line.split()[:2] for line in listed.splitlines()
                    if int(line.split()[2]) == port), None)  # fmt: skip
    if cluster is None:
        raise RuntimeError(f"no cluster of pg_lsclusters listens on port {port}")
    command = ["pg_ctlcluster", *cluster, "restart"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(database_url, connect_timeout=2).close()
            return " ".join(command)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def smtp_down(sink: SmtpSink, seconds: float) -> str:
    """Stop the SMTP server (its port then refuses connections) and start it again later."""
    before = len(sink.received)
    sink.stop()
    time.sleep(seconds)
    sink.start()
    return f"SMTP server down for {seconds:.0f} s, {before} mails received before it went"


def fault_figures(fault: Fault, by_second: dict[str, list[int]]) -> dict[str, Any]:
    """The requests that failed, from the fault's start on: how many, when the first and the
    last were sent (seconds after the fault began), and the share answered in the 10 s
    before it and in those from 10 s after it was over."""
    assert fault.began is not None and fault.over is not None
    seconds = {int(second): counts for second, counts in by_second.items()}
    began, over = int(fault.began), int(fault.over)
    failed = [s for s, (_ok, bad) in seconds.items() if bad and s >= began - 1]

    def succeeded(first: int, last: int) -> str:
        ok = sum(seconds.get(s, [0, 0])[0] for s in range(first, last))
        bad = sum(seconds.get(s, [0, 0])[1] for s in range(first, last))
        return f"{ok} of {ok + bad}"

    after = max(seconds, default=over)
    return {
        "kind": fault.kind,
        "detail": fault.detail,
        "error": fault.error,
        "seconds_into_load": fault.at,
        "lasted": round(fault.over - fault.began, 1),
        "failed": sum(seconds[s][1] for s in failed),
        "first_failure_after": min(failed) - began if failed else None,
        "last_failure_after": max(failed) - began if failed else None,
        "succeeded_10s_before": succeeded(began - 10, began),
        "succeeded_after_10s": succeeded(over + 10, after + 1),
    }


# Sampling ---------------------------------------------------------------------------------------


#: Roles served by a gunicorn master whose workers ``max_requests`` replaces during a run.
SERVED = ("portal", "provider", "hello")


class Sampler(Background):
    """Every 10 s: the RSS of each process by role, and PostgreSQL's connections to the
    database (``pg_stat_activity``), the backends' RSS summed.

    A gunicorn worker replaced after ``max_requests`` is a new process: the CPU of a served
    role is its master's, its live workers' and what its master reaped (the workers that
    exited, their whole lives), so replaced workers count; a worker's own row then shows none.
    """

    def __init__(self, roles: dict[str, list[int]], database_url: str, database: str) -> None:
        self.roles = roles  # role -> top pids; their children are counted apart by pid
        self.database_url = database_url
        self.database = database
        self.rss: dict[str, list[float]] = {}
        self.connections: list[int] = []
        #: CPU seconds of each process when first and last seen (a backend: by its pid).
        self.cpu_first: dict[str, float] = {}
        self.cpu_last: dict[str, float] = {}
        #: The pid a row was first sampled with; a row whose pid changed was replaced.
        self.pids: dict[str, int] = {}
        self.replaced: set[str] = set()
        #: CPU seconds of each served role, every process it ever had (see the class).
        self.role_first: dict[str, float] = {}
        self.role_last: dict[str, float] = {}
        #: /proc/PID/schedstat of each portal worker, first and last seen: (on a CPU, runnable
        #: and waiting for one), in ns. A worker replaced between samples loses its last bit.
        self.sched_first: dict[int, tuple[int, int]] = {}
        self.sched_last: dict[int, tuple[int, int]] = {}
        self.machine_first = machine_busy()
        self.machine_last = self.machine_first
        super().__init__()

    def stop(self) -> None:
        super().stop()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS if self.connections else 0.5):
            self.sample()

    def processes(self) -> dict[str, psutil.Process]:
        found: dict[str, psutil.Process] = {}
        for role, pids in self.roles.items():
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    top = psutil.Process(pid)
                    children = top.children(recursive=True)
                    if role in SERVED:
                        found[f"{role} master"] = top
                        for index, child in enumerate(sorted(children, key=lambda c: c.pid)):
                            found[f"{role} worker {index + 1}"] = child
                    else:
                        found[role] = top
                        for child in children:
                            found[f"{role} child {child.pid}"] = child
        return found

    def sample(self) -> None:
        import psycopg

        processes = self.processes()
        for label, process in processes.items():
            with contextlib.suppress(psutil.Error):
                self.rss.setdefault(label, []).append(process.memory_info().rss / 2**20)
                self._cpu(label, process)
            if label.startswith("portal worker "):
                with contextlib.suppress(OSError):
                    running, waiting = map(int, schedstat(process.pid)[:2])
                    self.sched_first.setdefault(process.pid, (running, waiting))
                    self.sched_last[process.pid] = (running, waiting)
        for role in SERVED:
            if f"{role} master" in processes:
                with contextlib.suppress(psutil.Error):
                    self._role_cpu(role, processes)
        with contextlib.suppress(psycopg.Error):
            with psycopg.connect(self.database_url, autocommit=True) as connection:
                rows = connection.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database,),
                ).fetchall()
            self.connections.append(len(rows))
            backends = 0.0
            for (pid,) in rows:
                with contextlib.suppress(psutil.Error):
                    backend = psutil.Process(pid)
                    backends += backend.memory_info().rss / 2**20
                    self._cpu(f"{BACKENDS} {pid}", backend)
            self.rss.setdefault(BACKENDS, []).append(backends)
        self.machine_last = machine_busy()

    def _role_cpu(self, role: str, processes: dict[str, psutil.Process]) -> None:
        master = processes[f"{role} master"].cpu_times()
        total = master.user + master.system + master.children_user + master.children_system
        for label, process in processes.items():
            if label.startswith(f"{role} worker "):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
        self.role_first.setdefault(role, total)
        self.role_last[role] = total

    def _cpu(self, label: str, process: psutil.Process) -> None:
        if self.pids.setdefault(label, process.pid) != process.pid:
            self.replaced.add(label)
        times = process.cpu_times()
        self.cpu_first.setdefault(label, times.user + times.system)
        self.cpu_last[label] = times.user + times.system

    def cpu(self, label: str) -> float | None:
        """CPU seconds used while sampled; the backends' summed over their pids."""
        if label == BACKENDS:
            pids = [k for k in self.cpu_last if k.startswith(BACKENDS + " ")]
            return sum(self.cpu_last[k] - self.cpu_first[k] for k in pids)
        if label not in self.cpu_last or label in self.replaced:
            return None
        return self.cpu_last[label] - self.cpu_first[label]

    def waiting_for_cpu(self) -> tuple[float, float]:
        """Seconds the portal's workers spent on a CPU, and runnable waiting for one."""
        deltas = [
            (last[0] - self.sched_first[pid][0], last[1] - self.sched_first[pid][1])
            for pid, last in self.sched_last.items()
        ]
        return sum(d[0] for d in deltas) / 1e9, sum(d[1] for d in deltas) / 1e9

    def role_cpu(self, role: str) -> float | None:
        """CPU seconds of a served role, its replaced workers included."""
        if role not in self.role_last:
            return None
        return self.role_last[role] - self.role_first[role]

    def cpu_summary(self) -> dict[str, float]:
        ours = sum(self.role_cpu(role) or 0.0 for role in SERVED) + sum(
            self.cpu(label) or 0.0 for label in self.rss if role_of(label) not in SERVED
        )
        busy = self.machine_last[0] - self.machine_first[0]
        return {
            "seconds": round(self.machine_last[1] - self.machine_first[1], 1),
            "machine_busy": round(busy, 1),
            "ours": round(ours, 1),
            "others": round(max(busy - ours, 0.0), 1),
        }


def role_of(label: str) -> str:
    """``portal`` of "portal worker 3" (a process's row in the memory table)."""
    return label.split(" ", 1)[0]


def schedstat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/schedstat").read_text().split()


def machine_busy() -> tuple[float, float]:
    """(CPU seconds all cores were busy since boot, seconds now): /proc/stat's first line."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), time.monotonic()


# Locust ---------------------------------------------------------------------------------------


def run_locust(
    args: argparse.Namespace,
    host: str,
    classes: tuple[str, ...],
    env: dict[str, str],
    workdir: Path,
    label: str,
    roles: dict[str, list[int]],
) -> dict[str, Any]:
    summary = workdir / f"summary-{label}.json"
    locust_env = {**env, "LOAD_SUMMARY": str(summary), "LOAD_PROCESSES": str(args.processes)}
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.duration}s", "--stop-timeout", "60", "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0", *classes,
    ]  # fmt: skip
    if args.processes > 1:
        command[3:3] = ["--processes", str(args.processes)]
    log(f"locust ({label}): {args.users} users for {args.duration} s")
    with open(workdir / f"locust-{label}.log", "ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=locust_env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        roles["locust"] = [process.pid]
        process.wait(timeout=args.duration + 120)
    if not summary.exists():
        tail = (workdir / f"locust-{label}.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust wrote no summary:\n{tail}")
    result: dict[str, Any] = json.loads(summary.read_text())
    return result


# Counting in the database -------------------------------------------------------------------


def database_now(database_url: str) -> Any:
    import psycopg

    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


def certificate_delays(database_url: str, since: Any) -> dict[str, Any]:
    """How long the certificates asked for during the load waited to be issued (created,
    issued: the job's queueing and rendering), by kind; after the backlog has drained."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT kind, count(*), count(issued_at),"
            " percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP"
            " (ORDER BY extract(epoch FROM issued_at - created_at)),"
            " max(extract(epoch FROM issued_at - created_at))"
            " FROM certificates WHERE created_at >= %s GROUP BY kind ORDER BY kind",
            (since,),
        ).fetchall()
    return {
        kind: {
            "count": count,
            "issued": issued,
            "p50": float(p[0]) if p and p[0] is not None else None,
            "p95": float(p[1]) if p and p[1] is not None else None,
            "max": float(longest) if longest is not None else None,
        }
        for kind, count, issued, p, longest in rows
    }


#: The resident's message in a mail's Message-ID (portal.mailbox.mailer: ``message-ID``).
MAILED_MESSAGE = re.compile(r"\.message-(\d+)@")


def mail_figures(
    database_url: str, since: Any, sink: SmtpSink, limit: float = 900.0
) -> dict[str, Any]:
    """Once every message of the load that is to be e-mailed has been (retries after an SMTP
    outage wait up to minutes), the messages against the mails received: each one once."""
    import psycopg

    started = time.monotonic()
    wanted = "FROM messages WHERE created_at >= %s AND email_to IS NOT NULL"
    with psycopg.connect(database_url, autocommit=True) as connection:
        while True:
            row = connection.execute(
                f"SELECT count(*), count(emailed_at) {wanted}", (since,)
            ).fetchone()
            assert row is not None
            if row[0] == row[1] or time.monotonic() - started > limit:
                break
            time.sleep(1.0)
        ids = {m for (m,) in connection.execute(f"SELECT id {wanted}", (since,)).fetchall()}
        retried = connection.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'mailbox.send_email'"
            " AND (args->>'message_id')::bigint = ANY(%s) AND attempts > 1",
            (list(ids),),
        ).fetchone()
    waited = time.monotonic() - started
    mailed: Counter[int] = Counter()
    for mail in list(sink.received):
        found = MAILED_MESSAGE.search(str(mail.get("Message-ID", "")))
        if found:
            mailed[int(found.group(1))] += 1
    return {
        "messages": row[0],
        "emailed": row[1],
        "waited": round(waited, 1),
        "retried": retried[0] if retried else 0,
        "mails": sum(mailed[m] for m in ids),
        "distinct": len(ids & set(mailed)),
        "twice": sum(1 for m in ids if mailed[m] > 1),
        "never": len(ids - set(mailed)),
    }


def submitted_cases(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM cases WHERE status = 'submitted'").fetchone()
    return int(row[0]) if row else 0


def check_submissions(database_url: str, sent: list[int], receipts: list[str]) -> dict[str, Any]:
    """Each case locust submitted is submitted in the database with a receipt number of its
    own; each receipt number it read is one case; no number is there twice."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        filed = connection.execute(
            "SELECT count(*) FROM cases"
            " WHERE id = ANY(%s) AND status = 'submitted' AND receipt_number IS NOT NULL",
            (sorted(set(sent)),),
        ).fetchone()
        read = connection.execute(
            "SELECT count(DISTINCT receipt_number) FROM cases WHERE receipt_number = ANY(%s)",
            (sorted(set(receipts)),),
        ).fetchone()
        duplicates = connection.execute(
            "SELECT count(*) FROM (SELECT receipt_number FROM cases"
            " WHERE receipt_number IS NOT NULL"
            " GROUP BY receipt_number HAVING count(*) > 1) AS twice"
        ).fetchone()
    return {
        "submitted_by_locust": len(sent),
        "distinct_cases": len(set(sent)),
        "submitted_in_database": int(filed[0]) if filed else 0,
        "receipts_read": len(set(receipts)),
        "receipts_found": int(read[0]) if read else 0,
        "duplicated_receipt_numbers": int(duplicates[0]) if duplicates else 0,
    }


# The report -----------------------------------------------------------------------------------


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def _seconds(value: Any) -> str:
    return "–" if value is None else f"{value} s"


def _percentiles(group: dict[str, Any]) -> str:
    return f"{_ms(group['p50'])} / {_ms(group['p95'])} / {_ms(group['p99'])}"


def report(results: dict[str, Any]) -> str:
    m, load, db = results["machine"], results["load"], results["database"]
    duration = load["duration"] or 1e-9
    groups, counts = load["groups"], load["counts"]
    steps, sent = counts.get("journey_steps", 0), counts.get("submissions", 0)
    checks, cpu = db["checks"], results["cpu"]
    staff = ", ".join(
        str(counts.get(k, 0)) for k in ("sign_ins", "claims", "approvals", "certificate_downloads")
    )
    rows = [
        ("requests/s (all: portal and provider)", f"{load['requests'] / duration:.1f}"),
        ("page requests: count; p50 / p95 / p99", f"{groups['page']['requests']}; "
         + _percentiles(groups["page"])),
        ("provider's sign-in pages: p50 / p95 / p99", _percentiles(groups["idp"])),
        ("certificate downloads: count; p50 / p95 / p99", f"{groups['pdf']['requests']}; "
         + _percentiles(groups["pdf"])),
        ("errors (failed requests)", str(load["failures"])),
        ("journey steps/s", f"{steps / duration:.1f} ({steps} in {duration:.0f} s)"),
        ("submissions/s", f"{sent / duration:.2f} ({sent})"),
        ("sign-ins, claims, approvals, certificate downloads", staff),
        ("cases submitted: locust's 302s / distinct / submitted in the database / new there",
         f"{checks['submitted_by_locust']} / {checks['distinct_cases']} / "
         f"{checks['submitted_in_database']} / {db['new_submitted_cases']}"),
        ("receipt numbers read / found in the database / numbers held twice",
         f"{checks['receipts_read']} / {checks['receipts_found']} / "
         f"{checks['duplicated_receipt_numbers']}"),
        ("PostgreSQL connections first / last / max", results["connections"]),
        ("jobs left when the load stopped; drained in", f"{results['left']['jobs']};"
         f" {results['left']['seconds']:.0f} s"),
    ]  # fmt: skip
    for kind, delay in results["certificates"].items():
        rows.append(
            (f"certificates {kind}: asked / issued; wait p50 / p95 / max",
             f"{delay['count']} / {delay['issued']}; " + " / ".join(
                 "–" if delay[k] is None else f"{delay[k]:.1f} s" for k in ("p50", "p95", "max")
             ))
        )  # fmt: skip
    if "mail" in results:
        mail = results["mail"]
        rows += [
            ("messages to e-mail / e-mailed (in the database); waited for them after the jobs",
             f"{mail['messages']} / {mail['emailed']}; {mail['waited']:.0f} s"),
            ("mail jobs tried more than once", str(mail["retried"])),
            ("mails received / distinct messages / messages mailed twice / never",
             f"{mail['mails']} / {mail['distinct']} / {mail['twice']} / {mail['never']}"),
        ]  # fmt: skip
    if "ceiling" in results:
        hello = results["ceiling"]
        rate = hello["requests"] / (hello["duration"] or 1e-9)
        rows.append(
            ("ceiling, hello.py: requests/s; p50 / p95 / p99",
             f"{rate:.1f}; {_percentiles(hello['groups']['page'])}, {hello['failures']} errors")
        )  # fmt: skip
    lines = [
        "```",
        f"machine:  {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB memory,"
        f" load average before {m['load_before']}",
        f"command:  {results['command']}",
        f"settings: {results['settings']}",
        f"jobs run before the load (the demo data's backlog): {results['backlog']}",
        f"CPU while sampled: {cpu['seconds']} s x {m['cores']} cores; busy {cpu['machine_busy']}"
        f" core-s, of which these processes {cpu['ours']}, others on the machine {cpu['others']}",
        f"portal workers: on a CPU {cpu['portal_running']} s, runnable and waiting for one"
        f" {cpu['portal_waiting']} s (/proc/PID/schedstat)",
        "```",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "| process | RSS first | last | max | CPU s |",
        "|---|---|---|---|---|",
    ]
    for label, (first, last, peak, cpu) in results["memory"].items():
        lines.append(f"| {label} | {first:.0f} MB | {last:.0f} MB | {peak:.0f} MB | {cpu} |")
    if "fault" in results:
        f = results["fault"]
        lines += [
            "",
            f"Fault: {f['kind']} at {f['seconds_into_load']:.0f} s into the load"
            f" ({f['detail'] or f['error']}), over in {f['lasted']} s.",
            "",
            "| the fault's figure | value |",
            "|---|---|",
            f"| requests failed from its start on | {f['failed']} |",
            "| first / last failed request sent, seconds after it began | "
            f"{_seconds(f['first_failure_after'])} / {_seconds(f['last_failure_after'])} |",
            f"| requests succeeded in the 10 s before it | {f['succeeded_10s_before']} |",
            f"| requests succeeded from 10 s after it was over | {f['succeeded_after_10s']} |",
        ]
    if results.get("worker_restarts"):
        lines += ["", "Job workers started again:", ""]
        lines += [f"- {said}" for said in results["worker_restarts"]]
    if load["errors"]:
        lines += ["", "Errors:", ""]
        lines += [
            f"- {e['occurrences']} × {e['method']} {e['name']}: {e['error']}"
            for e in load["errors"][:10]
        ]
    return "\n".join(lines)


def memory_table(sampler: Sampler) -> dict[str, tuple[float, float, float, str]]:
    """Each process's RSS and CPU; a served role's row of all its processes' CPU after them."""
    table: dict[str, tuple[float, float, float, str]] = {}
    for label, values in sampler.rss.items():
        cpu = sampler.cpu(label)
        shown = "replaced" if label in sampler.replaced else "–" if cpu is None else f"{cpu:.1f}"
        table[label] = (values[0], values[-1], max(values), shown)
    for role in SERVED:
        total = sampler.role_cpu(role)
        rows = [row for label, row in table.items() if role_of(label) == role]
        if total is not None and rows:
            table[f"{role}: all its processes, replaced workers too (RSS summed)"] = (
                sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows),
                f"{total:.1f}",
            )  # fmt: skip
    return table


# Main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    cleanup = Cleanup()
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-load-"))
    if not args.keep:
        cleanup.add("folder", lambda: shutil.rmtree(workdir, ignore_errors=True))
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(
            [Path(sys.executable).name, "benchmarks/load/run.py", *(argv or sys.argv[1:])]
        ),
    }
    try:
        ports = Ports()
        database_url = recreate_database(args, cleanup)
        redis_url = redis_for_limits(args, workdir, cleanup)
        env = environment(args, workdir, database_url, redis_url, ports)
        sink = None
        if args.mail:
            sink = SmtpSink().start()
            cleanup.add("smtp", sink.stop)
            env.update(mail_environment(sink))
        prepare(env)
        route = record(env, workdir)
        env["LOAD_ROUTE"] = str(route)
        env["LOAD_IDP"] = env["PORTAL_DEVIDP_ISSUER"]
        env["LOAD_PERSONAS"] = str(args.personas)
        env["LOAD_THINK"] = str(args.think)
        provider = gunicorn(
            "provider", "portal.devidp:create_app()", ports.idp, 2, env, workdir, cleanup
        )
        wait_for_provider(provider.url)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            env["LOAD_PROFILE_DIR"] = str(args.profile.resolve())
        spec = "benchmarks.load.profiled:app" if args.profile else "wsgi:app"
        portal = gunicorn("portal", spec, ports.portal, args.web_workers, env, workdir, cleanup)
        wait_until_healthy(portal)
        workers = job_workers(
            args.job_workers, args.job_nice, env, workdir, cleanup, profiled=bool(args.profile)
        )
        # --job-workers 0: the web alone (certificates stay pending; none is downloaded).
        results["backlog"] = drain_jobs(database_url) if workers else 0
        if args.profile:  # the backlog's jobs are not the load's
            for backlog in args.profile.glob("job *.prof"):
                backlog.unlink()
        roles = {
            "portal": [portal.process.pid],
            "provider": [provider.process.pid],
            **{f"job worker {i + 1}": [w.pid] for i, w in enumerate(workers)},
        }
        results["worker_autogroups"] = [autogroup_of(w.pid) for w in workers]
        results["settings"] = (
            f"gunicorn --workers {args.web_workers} (sync, gunicorn.conf.py), "
            f"{args.job_workers} job worker(s) at nice {args.job_nice} (their sessions too), "
            f"{args.users} users, think {args.think} s, "
            f"{args.processes} locust process(es), limits in {redis_url}"
        )
        before = submitted_cases(database_url)
        load_began = database_now(database_url)
        sampler = Sampler(roles, database_url, args.database)
        sampler.start()

        def start_again(index: int) -> psutil.Popen:
            (again,) = job_workers(
                1, args.job_nice, env, workdir, cleanup, bool(args.profile), f"again-{index}"
            )
            roles[f"job worker {index + 1}"][0] = again.pid  # its row shows it replaced
            return again

        supervisor = Supervisor(workers, start_again)
        supervisor.start()
        fault = None
        if args.fault:

            def kill_worker() -> str:
                killed = workers[0]
                killed.kill()
                deadline = time.monotonic() + WORKER_RESTART_SECONDS + 30
                while workers[0] is killed and time.monotonic() < deadline:
                    time.sleep(0.2)
                return f"SIGKILL to job worker {killed.pid}, started again as {workers[0].pid}"

            at = args.duration / 3 if args.fault_at is None else args.fault_at
            fault = Fault(args.fault, at, database_url, kill_worker, sink, args.fault_for)
            fault.start()
        results["load"] = run_locust(args, portal.url, USER_CLASSES, env, workdir, "portal", roles)
        if fault is not None:
            fault.join()
            results["fault"] = fault_figures(fault, results["load"]["by_second"])
        sampler.stop()
        results["memory"] = memory_table(sampler)
        results["worker_restarts"] = supervisor.restarts
        results["cpu"] = sampler.cpu_summary()
        results["cpu"]["portal_running"], results["cpu"]["portal_waiting"] = (
            round(value, 1) for value in sampler.waiting_for_cpu()
        )
        c = sampler.connections
        results["connections"] = f"{c[0]} / {c[-1]} / {max(c)}" if c else "–"
        drained = time.monotonic()
        results["left"] = {
            "jobs": drain_jobs(database_url) if workers else 0,
            "seconds": round(time.monotonic() - drained, 1),
        }
        if sink is not None:  # before the workers stop: retries after an outage wait
            results["mail"] = mail_figures(database_url, load_began, sink)
        supervisor.stop()
        results["certificates"] = certificate_delays(database_url, load_began)
        results["database"] = {
            "new_submitted_cases": submitted_cases(database_url) - before,
            "checks": check_submissions(
                database_url, results["load"].pop("sent"), results["load"].pop("receipts")
            ),
        }
        if args.ceiling:
            cleanup.run_one("portal")
            hello = gunicorn(
                "hello",
                "benchmarks.load.hello:app",
                ports.hello,
                args.web_workers,
                env,
                workdir,
                cleanup,
            )
            wait_until_healthy(hello)
            results["ceiling"] = run_locust(
                args, hello.url, ("Hello",), env, workdir, "ceiling", {}
            )
        print(report(results))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        if args.keep:
            log(f"kept: {workdir} and the database {args.database!r}")
        return results
    finally:
        cleanup.run_all()


if __name__ == "__main__":
    main()
