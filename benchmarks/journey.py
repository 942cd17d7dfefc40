"""Journey steps per second against a bare Flask-WTF page, on SQLite and on PostgreSQL.

Run by hand from the repository root (not in CI)::

    .venv/bin/python benchmarks/journey.py            # both databases, 16 residents, 20 s each
    .venv/bin/python benchmarks/journey.py --json     # the same numbers as JSON on stdout

For each database it prepares a fresh database with the project's own commands, serves the
portal with gunicorn on a free loopback port, signs in 16 residents without the OpenID
Connect round trip (accounts made with ``record_sign_in``, server-side sessions opened as
a sign-in opens them, their cookies signed with the app's own serializer) and lets each
walk the moving journey over HTTP, page after page, for a fixed time. Then it serves
``benchmarks/ceiling_app.py`` (a bare page with a 10-field Flask-WTF form and one query)
with the same gunicorn settings against the same database and drives it with the same 16
clients.

- One *request*: one HTTP request and its response, nothing followed automatically.
- One journey *step*: POST a page's answers (302), GET the page it redirects to (200):
  2 requests. Journey requests/s = 2 x steps/s.
- One ceiling *round trip*: POST the 10-field form (302), GET the form again (200):
  2 requests, the same shape as a step. Ceiling requests/s = 2 x round trips/s.
- Goal: journey requests/s >= 60 % of the ceiling's requests/s, and p95 step latency < 100 ms.

Starting a fresh case at the check page (discard, start, resume, first page: 4 requests) is
not a step; those requests are counted apart as "other requests".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
# Run as a script, this folder would come first on sys.path, and benchmarks/queue.py would
# stand in for the standard library's queue (urllib3 and concurrent.futures import it): the
# scripts here import each other as ``benchmarks.<name>`` from the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import requests  # noqa: E402

USER_AGENT = "madoguchi-benchmark/1"
SESSION_COOKIE = "madoguchi_session"
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
CASE_ID = re.compile(r"/cases/(\d+)")
GOAL_RATIO = 0.60
GOAL_P95_MS = 100.0
MAX_ERRORS_PER_CLIENT = 20
REQUEST_TIMEOUT = (5, 30)

#: The moving journey's answers, as tests/journey/test_journeys.py gives them for a move
#: between municipalities (Chiyoda to Yokohama): 15 pages from the first question to check.
MOVING_ANSWERS: dict[str, Any] = {
    "filing.proxy": False,
    "move.scope": "between",
    "move.new_address": {"postal_code": "231-0021", "street": "1", "building": ""},
    "move.members": [],
    "move.circumstances": ["kokuho"],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    workers: int
    threads: int
    keep_alive: int

    @property
    def worker_class(self) -> str:
        return "gthread" if self.threads > 1 else "sync"

    def arguments(self) -> list[str]:
        return [
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--keep-alive",
            str(self.keep_alive),
            "--log-level",
            "warning",
        ]

    def describe(self) -> str:
        return "gunicorn " + " ".join(self.arguments())


# Processes, folders and the bench database: everything started is cleaned up --------------


class Cleanup:
    """Servers, temporary folders and databases to remove, newest first, also on Ctrl-C."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def add(self, label: str, action: Callable[[], None]) -> None:
        self._actions.append((label, action))

    def run_one(self, label: str) -> None:
        for index in range(len(self._actions) - 1, -1, -1):
            if self._actions[index][0] == label:
                _, action = self._actions.pop(index)
                self._safely(label, action)
                return

    def run_all(self) -> None:
        while self._actions:
            label, action = self._actions.pop()
            self._safely(label, action)

    @staticmethod
    def _safely(label: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - cleaning up must go on
            log(f"  cleanup of {label} failed: {error}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM to gunicorn's master (it stops its workers), SIGKILL the group if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(
    name: str,
    app_spec: str,
    settings: ServerSettings,
    env: dict[str, str],
    workdir: Path,
    cleanup: Cleanup,
    extra: list[str] | None = None,
) -> Server:
    port = free_port()
    log_path = workdir / f"gunicorn-{name}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        *settings.arguments(),
        "--error-logfile",
        str(log_path),
        *(extra or []),
        app_spec,
    ]
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    cleanup.add(f"server {name}", lambda: stop_process(process))
    wait_until_healthy(server)
    return server


def wait_until_healthy(server: Server, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /healthz in {limit:.0f} s")


# Preparing a database with the project's own commands --------------------------------------


@dataclass
class Target:
    """One database to measure: its URL, the instance folder and the environment to serve."""

    name: str
    database_url: str
    instance: Path
    env: dict[str, str]


def base_environment() -> dict[str, str]:
    """The caller's environment without any PORTAL_* setting (as the tests do)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}


def run_command(arguments: list[str], env: dict[str, str], timeout: float = 120) -> None:
    command = [sys.executable, "-m", "flask", "--app", "portal", *arguments]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")


def prepare(
    name: str, args: argparse.Namespace, secret_key: str, workdir: Path, cleanup: Cleanup
) -> Target:
    instance = workdir / f"instance-{name}"
    instance.mkdir()
    if name == "sqlite":
        database_url = f"sqlite:///{instance / 'portal.sqlite3'}"
    else:
        database_url = recreate_postgresql(args, cleanup)
    env = base_environment()
    env.update(
        PORTAL_INSTANCE_PATH=str(instance),
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SECRET_KEY=secret_key,
    )
    started = time.monotonic()
    for command in (
        ["db", "upgrade"],
        ["municipalities", "load"],
        ["definitions", "load"],
        ["demo", "load"],
    ):
        run_command(command, env)
    log(f"  {name}: database prepared as `make run` does in {time.monotonic() - started:.1f} s")
    return Target(name, database_url, instance, env)


def _admin_connection(args: argparse.Namespace) -> Any:
    import psycopg

    return psycopg.connect(f"{args.pg_url.rstrip('/')}/{args.pg_admin_database}", autocommit=True)


def recreate_postgresql(args: argparse.Namespace, cleanup: Cleanup) -> str:
    from psycopg import sql

    if args.pg_database in ("postgres", "template0", "template1", args.pg_admin_database):
        raise SystemExit(f"refusing to drop the database {args.pg_database!r}")
    name = sql.Identifier(args.pg_database)
    with _admin_connection(args) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def drop() -> None:
        with _admin_connection(args) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    cleanup.add("database", drop)
    return f"{args.pg_url.rstrip('/')}/{args.pg_database}"


# Residents: accounts and session cookies made with the app's own code ----------------------


@dataclass
class Journey:
    """The session cookies of the residents, and the pages the moving journey walks."""

    cookies: list[str]
    first_slug: str
    #: Each question page: its slug and the answers posted (without the CSRF token).
    route: list[tuple[str, dict[str, Any]]]

    def next_slug(self, index: int) -> str:
        return self.route[index + 1][0] if index + 1 < len(self.route) else "check"


class JourneyUnavailable(Exception):
    """The moving journey cannot be walked on this database: nothing to measure."""


@contextlib.contextmanager
def portal_app(target: Target) -> Iterator[Any]:
    """The portal in this process, configured exactly as the served one."""
    for key in [k for k in os.environ if k.startswith("PORTAL_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in target.env.items() if k.startswith("PORTAL_")})
    from portal import create_app
    from portal.extensions import db

    app = create_app()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def make_residents(target: Target, count: int) -> Journey:
    from flask import session
    from flask_login import login_user

    from portal.accounts.services import record_sign_in
    from portal.auth.sessions import SESSION_KEY, open_session
    from portal.devidp.personas import PERSONAS
    from portal.extensions import db

    persona = next(p for p in PERSONAS if p.id == "yamada-taro")  # a Chiyoda resident
    claims = {**persona.identity_claims({"openid", "profile", "address"}), "acr": persona.acr}
    with portal_app(target) as app:
        issuer = app.config["DEVIDP_ISSUER"]
        with app.app_context():
            accounts = [
                record_sign_in(issuer, f"benchmark-resident-{n:02d}", claims)
                for n in range(count + 1)
            ]
            keys = [open_session(account, "resident", None, USER_AGENT)[0] for account in accounts]
            db.session.commit()
            recorder_id = accounts[-1].id
            serializer = app.session_interface.get_signing_serializer(app)
            cookies = []
            for account, key in zip(accounts, keys, strict=True):
                # What the sign-in callback leaves in the session, for this client's address
                # and User-Agent (Flask-Login's session protection hashes both).
                with app.test_request_context(
                    "/",
                    headers={"User-Agent": USER_AGENT},
                    environ_base={"REMOTE_ADDR": "127.0.0.1"},
                ):
                    session[SESSION_KEY] = key
                    login_user(account)
                    cookies.append(serializer.dumps(dict(session)))
        first_slug, route = record_route(app, recorder_id)
    return Journey(cookies[:count], first_slug, route)


def record_route(app: Any, account_id: int) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """Walk the moving journey once through the test client, as the journey tests do, and
    keep what each page posted; the residents replay it over HTTP."""
    from flask.logging import default_handler

    raised: list[BaseException] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info and record.exc_info[1] is not None:
                raised.append(record.exc_info[1])

    capture = Capture()
    app.logger.addHandler(capture)
    app.logger.removeHandler(default_handler)
    try:
        return _walk_and_record(app, account_id)
    except AssertionError as failed:
        reason = f"the recording walk failed: {failed}"
        if raised:
            error = raised[0]
            first_line = (str(error).splitlines() or [""])[0]
            reason += f"; the portal raised {type(error).__name__}: {first_line}"
        raise JourneyUnavailable(reason) from None
    finally:
        app.logger.removeHandler(capture)
        app.logger.addHandler(default_handler)


def _walk_and_record(app: Any, account_id: int) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    from tests.support.journey import Resident, days_ago
    from tests.support.people import csrf_token, login_as

    client = app.test_client()
    login_as(client, account_id)
    resident = Resident(app, client)
    first_url = resident.start("moving")
    posted: list[tuple[str, dict[str, Any]]] = []
    real_post = client.post

    def recording_post(url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        answers = {k: v for k, v in (data or {}).items() if k != "csrf_token"}
        posted.append((url.rsplit("/", 1)[-1], answers))
        return real_post(url, data=data, **kw)

    client.post = recording_post  # type: ignore[method-assign]
    walk = resident.walk(first_url, {**MOVING_ANSWERS, "move.date": days_ago(2)})
    client.post = real_post  # type: ignore[method-assign]
    if walk.last is None or walk.last.status_code != 200:
        raise AssertionError("the recording walk did not reach the check page")
    discarded = client.post(
        f"/cases/{resident.case_id}/discard", data={"csrf_token": csrf_token(walk.last.text)}
    )
    if discarded.status_code != 302:
        raise AssertionError(f"discarding the recorded case answered {discarded.status_code}")
    return first_url.rsplit("/", 1)[-1], posted


# Load: clients on threads, each with its own requests.Session -------------------------------


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)  # seconds, steps inside the window
    other_requests: int = 0  # inside the window, not part of a step
    errors: list[str] = field(default_factory=list)


@dataclass
class Window:
    start: float
    end: float

    def holds(self, moment: float) -> bool:
        return self.start <= moment < self.end


class Unexpected(Exception):
    pass


def new_session(cookie: str | None = None) -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    if cookie is not None:
        http.cookies.set(SESSION_COOKIE, cookie, domain="127.0.0.1", path="/")
    return http


def expect(response: requests.Response, status: int, location_end: str | None = None) -> None:
    if response.status_code != status:
        raise Unexpected(f"{response.request.method} {response.url}: {response.status_code}")
    if location_end is not None:
        location = response.headers.get("Location", "")
        if not location.split("?")[0].endswith(location_end):
            raise Unexpected(f"{response.url} redirected to {location}, not …{location_end}")


def token_of(response: requests.Response) -> str:
    found = CSRF.search(response.text)
    if found is None:
        raise Unexpected(f"no CSRF token on {response.url}")
    return found.group(1)


def files_and_data(answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """File answers go as multipart parts; everything else as the browser's form encoding."""
    files = {k: (v[1], v[0].getvalue()) for k, v in answers.items() if isinstance(v, tuple)}
    data = {k: v for k, v in answers.items() if not isinstance(v, tuple)}
    return data, files or None


def resident_loop(
    base: str, cookie: str, journey: Journey, window: Window, stop: threading.Event
) -> ClientResult:
    result = ClientResult()
    http = new_session(cookie)
    payloads = [(slug, *files_and_data(answers)) for slug, answers in journey.route]

    def other(response: requests.Response) -> requests.Response:
        if window.holds(time.perf_counter()):
            result.other_requests += 1
        return response

    def get(url: str) -> requests.Response:
        return other(http.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT))

    def post(url: str, data: dict[str, Any]) -> requests.Response:
        return other(http.post(url, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT))

    token = ""
    case_id: int | None = None
    recovering = False
    while not stop.is_set() and time.perf_counter() < window.end:
        try:
            if not token:
                home = get(base + "/")
                expect(home, 200)
                token = token_of(home)
            if case_id is not None:  # the check page was reached: a fresh case
                discarded = post(f"{base}/cases/{case_id}/discard", {"csrf_token": token})
                case_id = None
                if not recovering:
                    expect(discarded, 302)
            recovering = False
            started = post(base + "/cases/", {"csrf_token": token, "workflow": "moving"})
            expect(started, 302)
            case_id = int(CASE_ID.search(started.headers["Location"]).group(1))
            resumed = get(base + started.headers["Location"])
            expect(resumed, 302, "/" + journey.first_slug)
            page = get(base + resumed.headers["Location"])
            expect(page, 200)
            token = token_of(page)
            for index, (slug, data, files) in enumerate(payloads):
                if stop.is_set() or time.perf_counter() >= window.end:
                    break
                url = f"{base}/cases/{case_id}/{slug}"
                begun = time.perf_counter()
                answered = http.post(
                    url,
                    data={**data, "csrf_token": token},
                    files=files,
                    allow_redirects=False,
                    timeout=REQUEST_TIMEOUT,
                )
                expect(answered, 302, "/" + journey.next_slug(index))
                page = http.get(
                    base + answered.headers["Location"],
                    allow_redirects=False,
                    timeout=REQUEST_TIMEOUT,
                )
                expect(page, 200)
                finished = time.perf_counter()
                token = token_of(page)
                if window.holds(finished):
                    result.latencies.append(finished - begun)
        except (Unexpected, requests.RequestException, AttributeError, ValueError) as error:
            result.errors.append(f"{type(error).__name__}: {error}")
            if len(result.errors) >= MAX_ERRORS_PER_CLIENT:
                break
            token, recovering = "", True  # start over: a fresh token, the case discarded
            time.sleep(0.05)
    if case_id is not None and token:  # leave no draft behind for the next round
        with contextlib.suppress(requests.RequestException):
            http.post(
                f"{base}/cases/{case_id}/discard",
                data={"csrf_token": token},
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
    return result


def ceiling_loop(
    base: str, answers: dict[str, str], window: Window, stop: threading.Event
) -> ClientResult:
    result = ClientResult()
    http = new_session()
    token = ""
    while not stop.is_set() and time.perf_counter() < window.end:
        try:
            if not token:
                page = http.get(base + "/form", timeout=REQUEST_TIMEOUT)
                expect(page, 200)
                token = token_of(page)
                if window.holds(time.perf_counter()):
                    result.other_requests += 1
            begun = time.perf_counter()
            answered = http.post(
                base + "/form",
                data={**answers, "csrf_token": token},
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
            expect(answered, 302, "/form")
            page = http.get(
                base + answered.headers["Location"], allow_redirects=False, timeout=REQUEST_TIMEOUT
            )
            expect(page, 200)
            finished = time.perf_counter()
            token = token_of(page)
            if window.holds(finished):
                result.latencies.append(finished - begun)
        except (Unexpected, requests.RequestException, ValueError) as error:
            result.errors.append(f"{type(error).__name__}: {error}")
            if len(result.errors) >= MAX_ERRORS_PER_CLIENT:
                break
            token = ""
            time.sleep(0.05)
    return result


# CPU accounting from /proc: who used the cores during a window -----------------------------


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command's name (state, ppid, ...), or None
    for a process gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """The process's CPU; with ``reaped_children`` also that of its children it has waited
    for (``cutime``, ``cstime``)."""
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(master: int) -> float:
    """gunicorn's CPU: the master's, its live workers', and that of the workers it replaced
    (``max_requests``), which the master reaped: a worker gone during a window still counts."""
    return cpu_seconds(master, reaped_children=True) + sum(
        cpu_seconds(p) for p in children_of(master)
    )


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = proc_stat(entry.name)
        if stat is not None and int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def postgres_backends(args: argparse.Namespace, target: Target) -> list[int]:
    if target.name != "postgresql":
        return []
    try:
        with _admin_connection(args) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (args.pg_database,)
            ).fetchall()
    except Exception:  # noqa: BLE001 - CPU accounting is a nicety
        return []
    return [row[0] for row in rows]


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Cpu:
    """CPU seconds used during the measured windows."""

    gunicorn: float = 0.0
    postgres: float = 0.0
    load_generator: float = 0.0
    machine: float = 0.0

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(*(a + b for a, b in zip(astuple_cpu(self), astuple_cpu(other), strict=True)))

    @property
    def others(self) -> float:
        """Everything else on the machine: other people's tests, browsers, servers."""
        return max(0.0, self.machine - self.gunicorn - self.postgres - self.load_generator)


def astuple_cpu(cpu: Cpu) -> tuple[float, float, float, float]:
    return (cpu.gunicorn, cpu.postgres, cpu.load_generator, cpu.machine)


def parent_of(pid: int) -> int | None:
    stat = proc_stat(pid)
    return int(stat[1]) if stat is not None else None


def database_cpu_seconds(backends: list[int]) -> float:
    """The database's live backends' CPU, and that of the backends PostgreSQL's postmaster
    reaped (a gunicorn worker replaced during a window closes its connections): that counts
    every database's ended backends, which on a quiet machine are this benchmark's."""
    postmasters = {parent_of(p) for p in backends} - {None}
    reaped = sum(cpu_seconds(p, reaped_children=True) - cpu_seconds(p) for p in postmasters)
    return reaped + sum(cpu_seconds(p) for p in backends)


def cpu_sample(backends: list[int], master: int) -> Cpu:
    return Cpu(
        gunicorn=server_cpu_seconds(master),
        postgres=database_cpu_seconds(backends),
        load_generator=time.process_time(),
        machine=machine_busy_seconds(),
    )


# Measurements ------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One server measured over one or more windows."""

    kind: str  # "journey" or "ceiling"
    duration: float = 0.0
    latencies: list[float] = field(default_factory=list)  # steps / round trips, seconds
    other_requests: int = 0
    errors: list[str] = field(default_factory=list)
    cpu: Cpu = field(default_factory=Cpu)

    def add(self, results: list[ClientResult], duration: float, cpu: Cpu) -> None:
        self.duration += duration
        self.latencies.extend(x for r in results for x in r.latencies)
        self.other_requests += sum(r.other_requests for r in results)
        self.errors.extend(e for r in results for e in r.errors)
        self.cpu = self.cpu + cpu

    @property
    def units(self) -> int:
        return len(self.latencies)

    @property
    def units_per_second(self) -> float:
        return self.units / self.duration if self.duration else 0.0

    @property
    def requests_per_second(self) -> float:
        """2 requests per step or round trip."""
        return 2 * self.units_per_second

    @property
    def all_requests(self) -> int:
        return 2 * self.units + self.other_requests

    @property
    def all_requests_per_second(self) -> float:
        return self.all_requests / self.duration if self.duration else 0.0

    def percentile_ms(self, fraction: float) -> float | None:
        ordered = sorted(self.latencies)
        if not ordered:
            return None
        rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
        return 1000 * ordered[rank]

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        """gunicorn's workers plus, on PostgreSQL, the database's backends."""
        if not self.all_requests or not self.cpu.machine:
            return None
        return 1000 * (self.cpu.gunicorn + self.cpu.postgres) / self.all_requests

    def cores(self, seconds: float) -> float:
        return seconds / self.duration if self.duration else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "measured_seconds": round(self.duration, 2),
            "units": self.units,
            "units_per_second": round(self.units_per_second, 1),
            "requests_per_second": round(self.requests_per_second, 1),
            "other_requests": self.other_requests,
            "all_requests_per_second": round(self.all_requests_per_second, 1),
            "p50_ms": _round(self.percentile_ms(0.50), 1),
            "p95_ms": _round(self.percentile_ms(0.95), 1),
            "p99_ms": _round(self.percentile_ms(0.99), 1),
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "server_cpu_ms_per_request": _round(self.server_cpu_ms_per_request, 2),
            "cores_busy": {
                "gunicorn": round(self.cores(self.cpu.gunicorn), 2),
                "postgres": round(self.cores(self.cpu.postgres), 2),
                "load_generator": round(self.cores(self.cpu.load_generator), 2),
                "other_processes": round(self.cores(self.cpu.others), 2),
                "machine": round(self.cores(self.cpu.machine), 2),
            },
        }


def measure_window(
    measurement: Measurement,
    loop: Callable[[int, Window, threading.Event], ClientResult],
    clients: int,
    warmup: float,
    duration: float,
    server: Server,
    backends: Callable[[], list[int]],
) -> None:
    """Run the clients through a warm-up and one measured window; add what they did."""
    stop = threading.Event()
    now = time.perf_counter()
    window = Window(now + warmup, now + warmup + duration)
    results: list[ClientResult | None] = [None] * clients

    def run(index: int) -> None:
        results[index] = loop(index, window, stop)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(max(0.0, window.start - time.perf_counter()))
        before = cpu_sample(backends(), server.process.pid)
        time.sleep(max(0.0, window.end - time.perf_counter()))
        after = cpu_sample(backends(), server.process.pid)
        deadline = time.monotonic() + REQUEST_TIMEOUT[1] + 10
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        stop.set()
    used = Cpu(*(b - a for a, b in zip(astuple_cpu(before), astuple_cpu(after), strict=True)))
    measurement.add([r for r in results if r is not None], duration, used)


@dataclass
class Row:
    database: str
    journey: Measurement
    ceiling: Measurement
    #: Why the journey could not be measured on this database, if it could not.
    failure: str | None = None

    @property
    def ratio(self) -> float:
        ceiling = self.ceiling.requests_per_second
        return self.journey.requests_per_second / ceiling if ceiling else 0.0

    @property
    def cpu_ratio(self) -> float | None:
        """Server CPU per ceiling request / per journey request: the ratio on an idle machine
        if the server were the only thing using the cores."""
        journey, ceiling = (
            self.journey.server_cpu_ms_per_request,
            self.ceiling.server_cpu_ms_per_request,
        )
        return ceiling / journey if journey and ceiling else None

    @property
    def ratio_met(self) -> bool:
        return self.failure is None and self.ratio >= GOAL_RATIO

    @property
    def p95_met(self) -> bool:
        p95 = self.journey.percentile_ms(0.95)
        return p95 is not None and p95 < GOAL_P95_MS

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "journey_failure": self.failure,
            "steps_per_second": round(self.journey.units_per_second, 1),
            "journey_requests_per_second": round(self.journey.requests_per_second, 1),
            "p50_step_ms": _round(self.journey.percentile_ms(0.50), 1),
            "p95_step_ms": _round(self.journey.percentile_ms(0.95), 1),
            "ceiling_requests_per_second": round(self.ceiling.requests_per_second, 1),
            "ratio": round(self.ratio, 3),
            "goal_ratio_met": self.ratio_met,
            "goal_p95_met": self.p95_met,
            "server_cpu_ratio": _round(self.cpu_ratio, 3),
            "journey": self.journey.as_dict(),
            "ceiling": self.ceiling.as_dict(),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def run_database(
    name: str,
    args: argparse.Namespace,
    settings: ServerSettings,
    secret_key: str,
    workdir: Path,
    cleanup: Cleanup,
) -> Row:
    from benchmarks.ceiling_app import ANSWERS

    log(f"== {name}")
    target = prepare(name, args, secret_key, workdir, cleanup)
    failure: str | None = None
    try:
        journey: Journey | None = make_residents(target, args.residents)
    except JourneyUnavailable as unavailable:
        journey, failure = None, str(unavailable)
        log(f"  JOURNEY NOT MEASURED: {failure}")
    else:
        log(
            f"  {args.residents} residents signed in; the journey: {journey.first_slug}, then "
            f"{len(journey.route)} steps to the check page"
        )
    portal = None
    if journey is not None:
        portal = start_server(
            f"portal-{name}",
            "wsgi:app",
            settings,
            target.env,
            workdir,
            cleanup,
        )
    ceiling = start_server(
        f"ceiling-{name}",
        "benchmarks.ceiling_app:create_app()",
        settings,
        dict(target.env, CEILING_DATABASE_URL=target.database_url),
        workdir,
        cleanup,
        extra=["--pythonpath", str(REPO_ROOT)],
    )
    log(
        f"  portal at {portal.url if portal else '(not served)'}, ceiling at {ceiling.url} "
        "(idle while the other is measured)"
    )

    def backends() -> list[int]:
        return postgres_backends(args, target)

    def residents(index: int, window: Window, stop: threading.Event) -> ClientResult:
        assert journey is not None and portal is not None
        return resident_loop(portal.url, journey.cookies[index], journey, window, stop)

    journey_result, ceiling_result = Measurement("journey"), Measurement("ceiling")
    window = args.duration / args.rounds
    for round_number in range(args.rounds):
        warmup = args.warmup if round_number == 0 else min(args.warmup, 1.0)
        log(
            f"  round {round_number + 1}/{args.rounds}: journey, then ceiling "
            f"({warmup:g} s warm-up + {window:g} s measured each)"
        )
        if portal is not None:
            measure_window(
                journey_result,
                residents,
                args.residents,
                warmup,
                window,
                portal,
                backends,
            )
        measure_window(
            ceiling_result,
            lambda i, w, stop: ceiling_loop(ceiling.url, ANSWERS, w, stop),
            args.residents,
            warmup,
            window,
            ceiling,
            backends,
        )
    cleanup.run_one(f"server ceiling-{name}")
    if portal is not None:
        cleanup.run_one(f"server portal-{name}")
    for measurement in (journey_result, ceiling_result):
        if measurement.errors:
            log(f"  {measurement.kind}: {len(measurement.errors)} errors, e.g.")
            for error in measurement.errors[:5]:
                log(f"    {error}")
    if name == "postgresql":
        cleanup.run_one("database")
    return Row(name, journey_result, ceiling_result, failure)


# Output ------------------------------------------------------------------------------------


def table(rows: list[Row], settings: ServerSettings, args: argparse.Namespace) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    def yes(met: bool) -> str:
        return "yes" if met else "NO"

    header = (
        f"{'database':<11}{'steps/s':>9}{'journey req/s':>15}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'ceiling req/s':>15}{'ratio':>8}{'>=60%':>8}{'p95<100ms':>11}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        j = row.journey
        if row.failure is not None:
            lines.append(
                f"{row.database:<11}{'journey not measured (see below)':>48}"
                f"{row.ceiling.requests_per_second:>15.1f}{'-':>8}{'NO':>8}{'NO':>11}"
            )
            continue
        lines.append(
            f"{row.database:<11}{j.units_per_second:>9.1f}{j.requests_per_second:>15.1f}"
            f"{ms(j.percentile_ms(0.5)):>9}{ms(j.percentile_ms(0.95)):>9}"
            f"{row.ceiling.requests_per_second:>15.1f}{row.ratio:>8.0%}"
            f"{yes(row.ratio_met):>8}{yes(row.p95_met):>11}"
        )
    lines += [
        "",
        f"{args.residents} concurrent clients (threads, one requests.Session each, no think "
        f"time); per server {args.rounds} x {args.duration / args.rounds:g} s measured, journey "
        "and ceiling alternating",
        f"server: {settings.describe()}; portal at commit {args.commit}",
        "request = one HTTP request; step = POST a page's answers (302) + GET the next page "
        "(200) = 2 requests;",
        "ceiling round trip = POST the 10-field form (302) + GET it (200) = 2 requests; "
        "ratio = journey req/s / ceiling req/s",
        "",
        "details (cores busy during the measured windows, of "
        f"{os.cpu_count()}; server CPU = gunicorn workers + PostgreSQL backends):",
    ]
    for row in rows:
        if row.failure is not None:
            lines.append(f"  {row.database:<10} journey NOT MEASURED: {row.failure}")
        for m in (row.journey, row.ceiling):
            if not m.duration:
                continue
            unit = "steps" if m.kind == "journey" else "round trips"
            cpu = m.cpu
            lines.append(
                f"  {row.database:<10} {m.kind:<7} {m.units} {unit}, p50/p95/p99 "
                f"{ms(m.percentile_ms(0.5))}/{ms(m.percentile_ms(0.95))}/"
                f"{ms(m.percentile_ms(0.99))} ms, {m.other_requests} other requests "
                f"(all {m.all_requests_per_second:.1f} req/s), {len(m.errors)} errors"
            )
            lines.append(
                f"  {'':<10} {'':<7} server CPU {ms(m.server_cpu_ms_per_request)} ms/request; "
                f"cores: gunicorn {m.cores(cpu.gunicorn):.2f}, postgres "
                f"{m.cores(cpu.postgres):.2f}, load generator {m.cores(cpu.load_generator):.2f}, "
                f"other processes {m.cores(cpu.others):.2f}"
            )
        if row.cpu_ratio is not None:
            lines.append(
                f"  {row.database:<10} server CPU per request, ceiling / journey: "
                f"{row.cpu_ratio:.0%} (the ratio if the server had the machine to itself)"
            )
    disturbed = [
        m for row in rows for m in (row.journey, row.ceiling) if m.cores(m.cpu.others) > 0.25
    ]
    if disturbed:
        lines.append(
            "  note: other processes used more than a quarter of a core during "
            f"{len(disturbed)} measurement(s): the requests/s are disturbed; the CPU per "
            "request is not"
        )
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Serve the portal with gunicorn on SQLite and on PostgreSQL and print moving-journey "
            "steps per second with p50/p95 step latency at N concurrent residents, against the "
            "ceiling of a bare 10-field Flask-WTF page served with the same gunicorn settings. "
            "Goal: journey requests/s >= 60 % of the ceiling's, p95 < 100 ms."
        ),
        epilog=(
            "A step is POST a page's answers + GET the page it redirects to (2 requests); "
            "a ceiling round trip is POST + GET of the 10-field form (2 requests)."
        ),
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default: both)",
    )
    parser.add_argument("--residents", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--duration", type=float, default=20, help="seconds measured per server (20)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="the measured time is split into this many windows, journey and ceiling "
        "alternating, so both see the same background load (2)",
    )
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up (5)")
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 2) + 1,
        help="gunicorn sync workers (cores + 1: a worker waiting for a commit to reach the disk "
        "leaves its core to another; gunicorn's docs suggest up to 2 x cores + 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="gunicorn threads per worker (1: sync workers; more: gthread)",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=0,
        help="gunicorn --keep-alive (0; sync workers never keep connections open)",
    )
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server, without a database (postgresql://postgres@127.0.0.1:5432)",
    )
    parser.add_argument(
        "--pg-database", default="bench", help="database dropped, recreated and dropped (bench)"
    )
    parser.add_argument(
        "--pg-admin-database",
        default="postgres",
        help="database to connect to for CREATE/DROP DATABASE (postgres)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown or not args.databases:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown)) or '(none)'}")
    if not 1 <= args.residents <= 256:
        parser.error("--residents: 1 to 256")
    if not (1 <= args.duration <= 600 and 0 <= args.warmup <= 120 and 1 <= args.rounds <= 20):
        parser.error("--duration: 1 to 600 s; --warmup: 0 to 120 s; --rounds: 1 to 20")
    return args


def portal_commit() -> str:
    """The commit measured (read only), "+changes" when files outside benchmarks/ differ."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if changed else "")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = ServerSettings(args.workers, args.threads, args.keep_alive)
    dropped = sorted(k for k in os.environ if k.startswith("PORTAL_"))
    if dropped:
        log(f"ignoring {', '.join(dropped)}: the benchmark sets its own")
    args.commit = portal_commit()
    log(f"server settings: {settings.describe()}; portal at commit {args.commit}")
    cleanup = Cleanup()
    # SIGTERM (e.g. from a CI runner or `kill`) cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    cleanup.add("temporary folder", lambda: shutil.rmtree(workdir, ignore_errors=True))
    secret_key = secrets.token_urlsafe(32)
    started = time.monotonic()
    rows: list[Row] = []
    try:
        for name in args.databases:
            rows.append(run_database(name, args, settings, secret_key, workdir, cleanup))
    except KeyboardInterrupt:
        log("interrupted: stopping servers, removing folders and the bench database")
        return 130
    finally:
        cleanup.run_all()
    log(f"done in {time.monotonic() - started:.0f} s")
    if args.json:
        print(
            json.dumps(
                {
                    "server": settings.describe(),
                    "commit": args.commit,
                    "residents": args.residents,
                    "warmup_seconds": args.warmup,
                    "measured_seconds_per_server": args.duration,
                    "rounds": args.rounds,
                    "goal": {"ratio": GOAL_RATIO, "p95_ms": GOAL_P95_MS},
                    "cores": os.cpu_count(),
                    "results": [row.as_dict() for row in rows],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(table(rows, settings, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
