"""The production profile in deploy/: the settings file starts a production portal, the units
and the nginx site pass their own tools' checks, and gunicorn's settings fit the machine."""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import http.client
import os
import re
import runpy
import secrets
import shlex
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from gunicorn.app.base import Application

from portal import create_app
from portal.certificates.statuslist_keys import ensure_key
from portal.config import DEFAULTS, PLACEHOLDER, UnsafeConfiguration
from portal.japan.clock import utcnow
from tests.certificates.pki import CA
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
ENV_EXAMPLE = DEPLOY / "portal.env.example"
NGINX_SITE = DEPLOY / "nginx" / "madoguchi.conf"
GUNICORN_CONFIG = REPO / "gunicorn.conf.py"
UNITS = ("madoguchi-web.service", "madoguchi-worker@.service", "madoguchi-migrate.service")
#: Where the units and the nginx site expect the repository (and its .venv).
INSTALLED_AT = "/srv/madoguchi"
#: What nginx's variables hold for a visitor at 203.0.113.7 who asked for the portal's host.
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
NGINX_VARIABLES = {
    "$host": "portal.city.example.jp",
    "$scheme": "https",
    "$remote_addr": "203.0.113.7",
}


def read_environment_file(path: Path) -> dict[str, str]:
    """As systemd's EnvironmentFile= (and a shell) read the example: KEY=value lines, ``#``
    comments, a value in double quotes."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, separator, value = line.partition("=")
        assert separator and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"not KEY=value: {line!r}"
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        values[key] = value
    return values


def completed_example(root: Path, *, fill: bool = True) -> dict[str, str]:
    """The example as an operator completes it: each CHANGE-ME a random value of its own, each
    file and folder it names made where it says (under ``root``), as README says to make them."""
    environment = {}
    for key, value in read_environment_file(ENV_EXAMPLE).items():
        while fill and PLACEHOLDER in value:
            value = value.replace(PLACEHOLDER, secrets.token_urlsafe(32), 1)
        if value.startswith("/"):
            value = str(root / value.lstrip("/"))
        environment[key] = value
    ensure_key(Path(environment["PORTAL_STATUS_LIST_KEY_FILE"]))
    signing = Path(environment["PORTAL_SIGNING_KEY_DIR"])
    signing.mkdir(parents=True)
    CA.make().write_pkcs12(
        signing / "131016.p12", passphrase=environment["PORTAL_SIGNING_KEY_PASSPHRASE"]
    )
    for key in ("PORTAL_UPLOAD_DIR", "PORTAL_CERTIFICATE_DIR", "PORTAL_INSTANCE_PATH"):
        Path(environment[key]).mkdir(parents=True, exist_ok=True)
    return environment


@contextlib.contextmanager
def environment_of(values: dict[str, str]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in values.items():
            patch.setenv(key, value)
        yield


def production_app(environment: dict[str, str]) -> Flask:
    with environment_of(environment):
        return create_app()


def refusal(environment: dict[str, str]) -> list[str]:
    """The problems production's refusal lists, one a line (none: it starts)."""
    try:
        production_app(environment)
    except UnsafeConfiguration as refusal:
        return [line[2:] for line in str(refusal).splitlines() if line.startswith("- ")]
    return []


def settings_in(lines: list[str]) -> set[str]:
    return {name for line in lines for name in re.findall(r"PORTAL_[A-Z_]+", line)}


# --------------------------------------------------------------------------- the settings


def test_the_completed_example_starts_a_production_portal(tmp_path: Path) -> None:
    app = production_app(completed_example(tmp_path))
    assert app.config["ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["TRUSTED_PROXIES"] == 1
    assert app.config["STAFF_OIDC_CLIENT_ID"] != app.config["OIDC_CLIENT_ID"]
    assert app.config["SMTP_HOST"] and app.config["SIGNING_KEY_PASSPHRASE"]


def test_the_example_as_shipped_is_refused_naming_each_placeholder(tmp_path: Path) -> None:
    """A CHANGE-ME left in (a provider's secret, the database's password) stops the start,
    rather than failing the first sign-in or connection."""
    example = completed_example(tmp_path, fill=False)
    placeholders = {key for key, value in example.items() if PLACEHOLDER in value}
    assert "PORTAL_OIDC_CLIENT_SECRET" in placeholders and "PORTAL_DATABASE_URL" in placeholders
    problems = refusal(example)
    assert settings_in([problem.split(": ")[0] for problem in problems]) == placeholders, problems


def test_the_example_names_every_setting_production_requires(tmp_path: Path) -> None:
    """Required is what production's refusal names: starting from nothing, each setting it names
    is taken from the example, until it starts. Conditional ones (a client id once a provider is
    named, a passphrase once key files are found) come out as they arise."""
    example = completed_example(tmp_path)
    given = {"PORTAL_ENV": "production"}
    while refused := settings_in(refusal(given)):
        assert refused <= example.keys(), f"not in {ENV_EXAMPLE.name}: {refused - example.keys()}"
        assert not refused <= given.keys(), f"refused as the example gives them: {refused}"
        given |= {key: example[key] for key in refused}
    assert len(given) > 8  # secrets, addresses, providers, keys, limits' storage


def test_the_example_sets_only_settings_that_exist() -> None:
    """A misspelt name would be ignored, and its default used, without a word."""
    names = read_environment_file(ENV_EXAMPLE).keys()
    known = {f"PORTAL_{key}" for key in DEFAULTS} | {"PORTAL_INSTANCE_PATH"}
    assert {name for name in names if name.startswith("PORTAL_")} <= known
    gunicorn_settings = set(
        re.findall(r'"((?:WEB|GUNICORN)_[A-Z_]+)"', GUNICORN_CONFIG.read_text())
    )
    commented = re.findall(r"^#((?:WEB|GUNICORN)_[A-Z_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    assert commented and set(commented) <= gunicorn_settings


# --------------------------------------------------------------------------- systemd


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def installed(path: str) -> Path:
    """A path of an installed unit, in this checkout."""
    assert path.startswith(INSTALLED_AT), path
    return REPO / path.removeprefix(INSTALLED_AT).lstrip("/")


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_runs_a_command_of_this_checkout_hardened(name: str) -> None:
    service = unit(name)["Service"]
    program, *arguments = shlex.split(service["ExecStart"])
    assert os.access(installed(program), os.X_OK), program
    assert service["WorkingDirectory"] == INSTALLED_AT
    assert service["EnvironmentFile"] == "/etc/madoguchi/portal.env"
    assert service["User"] == "madoguchi" and service["Restart"] == "on-failure"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == service["PrivateTmp"] == "yes"


def test_web_and_workers_start_after_the_migrations() -> None:
    for name in ("madoguchi-web.service", "madoguchi-worker@.service"):
        section = unit(name)["Unit"]
        assert "madoguchi-migrate.service" in section["Requires"].split()
        assert "madoguchi-migrate.service" in section["After"].split()
    assert unit("madoguchi-migrate.service")["Service"]["Type"] == "oneshot"


def test_web_and_workers_may_write_where_the_example_keeps_files() -> None:
    example = read_environment_file(ENV_EXAMPLE)
    for name in ("madoguchi-web.service", "madoguchi-worker@.service"):
        writable = unit(name)["Service"]["ReadWritePaths"].split()
        assert {example["PORTAL_UPLOAD_DIR"], example["PORTAL_CERTIFICATE_DIR"]} <= set(writable)


@pytest.mark.parametrize("name", UNITS)
def test_each_units_command_is_one_the_portal_has(name: str, tmp_path: Path) -> None:
    """The command runs: gunicorn loads its settings and the app, flask finds the subcommand."""
    program, *arguments = shlex.split(unit(name)["Service"]["ExecStart"])
    check = ["--check-config"] if Path(program).name == "gunicorn" else ["--help"]
    arguments = [str(installed(a)) if a.startswith(INSTALLED_AT) else a for a in arguments]
    environment = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [str(installed(program)), *arguments, *check],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """``systemd-analyze verify``: every key known, every command executable (here, in this
    checkout; installed, in /srv/madoguchi); the template checked as worker@1."""
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED_AT, str(REPO)), encoding="utf-8")
    result = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            *(str(tmp_path / name.replace("@.", "@1.")) for name in UNITS),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


# --------------------------------------------------------------------------- nginx


def nginx_site() -> str:
    return NGINX_SITE.read_text(encoding="utf-8")


def nginx_here(tmp_path: Path, ports: dict[str, int] | None = None) -> Path:
    """The site inside a minimal nginx.conf, a certificate of our own in the place of the real
    one, this checkout where /srv/madoguchi is, on free loopback ports instead of 443, 80 and
    gunicorn's 8000 (``nginx -t`` binds them too). Returns the nginx.conf."""
    ports = ports or {"https": free_port(), "http": free_port(), "gunicorn": free_port()}
    site = nginx_site()
    certificates, logs = tmp_path / "ssl", tmp_path / "log"
    certificates.mkdir()
    logs.mkdir()
    write_certificate(certificates / "fullchain.pem", certificates / "privkey.pem")
    replacements = {"/etc/ssl/madoguchi": str(certificates), "/var/log/nginx": str(logs)}
    replacements[INSTALLED_AT] = str(REPO)
    site = re.sub(r"^\s*listen \[::\].*\n", "", site, flags=re.MULTILINE)  # IPv6 may be off
    replacements["listen 443 "] = f"listen 127.0.0.1:{ports['https']} "
    replacements["listen 80;"] = f"listen 127.0.0.1:{ports['http']};"
    replacements["server 127.0.0.1:8000;"] = f"server 127.0.0.1:{ports['gunicorn']};"
    for installed_text, here in replacements.items():
        assert installed_text in site
        site = site.replace(installed_text, here)
    (tmp_path / "madoguchi.conf").write_text(site, encoding="utf-8")
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {logs}/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log {logs}/access.log;\n"
        # Debian's nginx keeps these in /var/lib/nginx, which only root may write.
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in NGINX_TEMP_PATHS)
        + f"  include {tmp_path}/madoguchi.conf;\n}}\n",
        encoding="utf-8",
    )
    return config


def nginx_command(config: Path, *arguments: str) -> list[str]:
    prefix = config.parent
    return [
        "nginx",
        "-p",
        str(prefix),
        "-c",
        str(config),
        "-e",
        str(prefix / "log/error.log"),
        *arguments,
    ]


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    """``nginx -t``, and the static files it serves are the repository's."""
    result = subprocess.run(
        nginx_command(nginx_here(tmp_path), "-t"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr
    site = (tmp_path / "madoguchi.conf").read_text(encoding="utf-8")
    aliases = re.findall(r"^\s*alias\s+(\S+);", site, re.MULTILINE)
    assert [Path(alias) for alias in aliases] == [REPO / "portal" / "static"]


def write_certificate(certificate_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "portal.city.example.jp")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utcnow() - timedelta(days=1))
        .not_valid_after(utcnow() + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def nginx_size(value: str) -> int:
    number, unit_letter = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** " kmg".index(unit_letter.lower() or " ")


def test_nginx_passes_every_body_the_portal_accepts_and_no_larger(tmp_path: Path) -> None:
    app = production_app(completed_example(tmp_path))
    sizes = re.findall(r"^\s*client_max_body_size\s+(\S+);", nginx_site(), re.MULTILINE)
    assert [nginx_size(size) for size in sizes] == [app.config["MAX_CONTENT_LENGTH"]]
    assert app.config["UPLOAD_MAX_BYTES"] < app.config["MAX_CONTENT_LENGTH"]


def test_the_headers_nginx_sets_are_those_the_portal_believes(tmp_path: Path) -> None:
    """Through ``PORTAL_TRUSTED_PROXIES=1``: the host nginx names passes the host check, the
    scheme makes the request secure (HSTS), and the header nginx hides comes once, its own."""
    sets = dict(re.findall(r"^\s*proxy_set_header\s+(\S+)\s+(\S+);", nginx_site(), re.MULTILINE))
    headers = {name: NGINX_VARIABLES[value] for name, value in sets.items()}
    assert {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} <= headers.keys()
    client = production_app(completed_example(tmp_path)).test_client()
    with client.get("/static/favicon.svg", headers=headers) as response:
        assert response.status_code == 200
        assert "Strict-Transport-Security" in response.headers
    assert "proxy_hide_header Strict-Transport-Security;" in nginx_site()
    without_host = {k: v for k, v in headers.items() if k not in ("Host", "X-Forwarded-Host")}
    assert client.get("/static/favicon.svg", headers=without_host).status_code == 400


def test_static_urls_carry_their_files_digest(client: Any) -> None:
    """nginx lets browsers keep static files for a year; a changed file has a new URL."""
    assert "immutable" in nginx_site()
    digest = hashlib.sha256((REPO / "portal/static/css/portal.css").read_bytes()).hexdigest()
    page = client.get("/no-such-page").get_data(as_text=True)
    assert f'/static/css/portal.css?v={digest[:12]}"' in page


# --------------------------------------------------------------------------- gunicorn


class Settings(Application):
    """gunicorn's own loading of gunicorn.conf.py, without a command line."""

    def load_config(self) -> None:
        self.load_config_from_file(str(GUNICORN_CONFIG))

    def load(self) -> None:
        raise AssertionError("only the settings are read")


def test_job_workers_yield_the_cores_to_the_web() -> None:
    """In the March peak, pages first: certificates wait for the cores the web leaves."""
    web, worker = (
        unit("madoguchi-web.service")["Service"],
        unit("madoguchi-worker@.service")["Service"],
    )
    assert int(worker["CPUWeight"]) < int(web.get("CPUWeight", "100"))
    assert int(worker["Nice"]) > int(web.get("Nice", "0"))


def test_a_forked_worker_does_not_share_the_masters_database_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With preload_app, gunicorn's post_fork hook gives each worker fresh pools; a connection
    the master held stays open for the master alone (``dispose(close=False)``)."""
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import text

    monkeypatch.delenv("GUNICORN_PRELOAD", raising=False)
    hooks = runpy.run_path(str(GUNICORN_CONFIG))
    assert hooks["preload_app"] is True
    master = Flask("master")
    master.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'master.sqlite'}"
    database = SQLAlchemy(master)
    with master.app_context():
        held = database.engine.connect()
        held.execute(text("SELECT 1"))
        inherited = database.engine.pool
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: master))
    hooks["post_fork"](server, None)
    with master.app_context():
        assert database.engine.pool is not inherited and database.engine.pool.checkedout() == 0
        assert held.execute(text("SELECT 1")).scalar() == 1  # not closed under the master
    held.close()


def settings_on(cores: int, monkeypatch: pytest.MonkeyPatch, **environment: str) -> Any:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings().cfg


@pytest.mark.parametrize(("cores", "workers"), [(1, 3), (2, 5), (8, 12)])
def test_gunicorn_runs_two_sync_workers_a_core(
    cores: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_on(cores, monkeypatch)
    assert settings.workers == workers and settings.threads == 1
    assert settings.worker_class_str == "sync"
    assert 0 < settings.max_requests_jitter < settings.max_requests
    assert settings.timeout < nginx_read_timeout()
    assert "%(M)s" in settings.access_log_format
    # Forwarded headers stay the portal's to believe (PORTAL_TRUSTED_PROXIES).
    assert settings.forwarded_allow_ips == [] and settings.secure_scheme_headers == {}


def nginx_read_timeout() -> int:
    return int(re.search(r"proxy_read_timeout\s+(\d+)s;", nginx_site()).group(1))  # type: ignore[union-attr]


def test_gunicorn_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_on(
        8, monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="4", GUNICORN_MAX_REQUESTS="500"
    )
    assert (settings.workers, settings.threads) == (3, 4)
    assert settings.worker_class_str == "gthread"
    assert settings.max_requests == 500 and settings.max_requests_jitter == 50


@contextlib.contextmanager
def running_gunicorn(
    app: Flask, tmp_path: Path, port: int, **environment: str
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """gunicorn as the unit starts it (its config, wsgi:app, from the repository's folder),
    on the test database; stopped with SIGTERM, as systemd stops it."""
    log = tmp_path / "gunicorn.log"
    environment = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
        **environment,
    }
    command = [str(REPO / ".venv/bin/gunicorn"), "--config", str(GUNICORN_CONFIG)]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield server, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def test_gunicorn_serves_the_portal_and_stops_cleanly(app: Flask, tmp_path: Path) -> None:
    """Two gthread workers on a free port: /healthz answers 200 from the test database, the
    access log has the time taken, SIGTERM ends it."""
    port = free_port()
    threads = {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"}
    with running_gunicorn(app, tmp_path, port, **threads) as (server, log):
        assert healthz(f"http://127.0.0.1:{port}/healthz", server) == 200, log.read_text()
    text = log.read_text()
    assert server.returncode == 0, text
    assert "Using worker: gthread" in text and text.count("Booting worker") == 2
    assert re.search(r'^203\.0\.113\.7 "GET /healthz" 200 \d+ \d+ms ', text, re.MULTILINE), text
    assert "Shutting down: Master" in text


def test_nginx_and_gunicorn_serve_the_portal_as_in_production(app: Flask, tmp_path: Path) -> None:
    """The site in front of gunicorn, both real processes: HTTPS for the portal's name only,
    HSTS once, static files kept for a year, a body over the limit refused, HTTP redirected,
    and the portal sees the visitor's address through PORTAL_TRUSTED_PROXIES=1."""
    ports = {"https": free_port(), "http": free_port(), "gunicorn": free_port()}
    config = nginx_here(tmp_path, ports)
    proxied = {
        "WEB_CONCURRENCY": "1",
        "PORTAL_TRUSTED_PROXIES": "1",
        "PORTAL_TRUSTED_HOSTS": NGINX_VARIABLES["$host"],
    }
    with running_gunicorn(app, tmp_path, ports["gunicorn"], **proxied) as (server, log):
        url = f"http://127.0.0.1:{ports['gunicorn']}/healthz"
        assert healthz(url, server, Host=NGINX_VARIABLES["$host"]) == 200, log.read_text()
        nginx = subprocess.Popen(nginx_command(config, "-g", "daemon off;"))
        try:
            https = Visitor(ports["https"], tmp_path / "ssl/fullchain.pem")
            status, headers, _ = https.get("/healthz")
            assert status == 200
            assert headers.get_all("Strict-Transport-Security") == [
                "max-age=63072000; includeSubDomains"
            ]
            status, headers, body = https.get("/static/css/portal.css?v=0")
            assert status == 200 and body == (REPO / "portal/static/css/portal.css").read_bytes()
            assert "immutable" in headers["Cache-Control"] and headers["Strict-Transport-Security"]
            too_large = app.config["MAX_CONTENT_LENGTH"] + 1
            assert https.status_of(f"POST / HTTP/1.1\r\nContent-Length: {too_large}") == 413
            with pytest.raises(ssl.SSLError):
                Visitor(ports["https"], tmp_path / "ssl/fullchain.pem", "other.example.jp").get("/")
            plain = socket.create_connection(("127.0.0.1", ports["http"]), timeout=10)
            with plain:
                plain.sendall(b"GET /a?b=1 HTTP/1.0\r\nHost: portal.city.example.jp\r\n\r\n")
                answer = plain.makefile("rb").read().decode()
            assert answer.startswith("HTTP/1.1 301")
            assert "\r\nLocation: https://portal.city.example.jp/a?b=1\r\n" in answer
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
    # gunicorn believes no forwarded header itself: what it logs is the header nginx set.
    assert re.search(r'^127\.0\.0\.1 "GET /healthz" 200 ', log.read_text(), re.MULTILINE)


class Visitor:
    """A browser at the portal's name (SNI and Host) that trusts the test's certificate."""

    def __init__(self, port: int, certificate: Path, name: str = NGINX_VARIABLES["$host"]) -> None:
        self.port, self.name = port, name
        self.context = ssl.create_default_context(cafile=str(certificate))
        self.context.check_hostname = False  # the name is the test's; the chain is checked

    def connect(self) -> ssl.SSLSocket:
        deadline = time.monotonic() + 30
        while True:
            try:
                raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                break
            except ConnectionRefusedError:  # nginx is starting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return self.context.wrap_socket(raw, server_hostname=self.name)

    def get(self, path: str) -> tuple[int, Any, bytes]:
        connection = http.client.HTTPSConnection(self.name, self.port, context=self.context)
        connection.sock = self.connect()
        with contextlib.closing(connection):
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.headers, response.read()

    def status_of(self, request_head: str) -> int:
        """The status nginx answers a request's head with, before any body is sent."""
        with self.connect() as tls:
            tls.sendall(f"{request_head}\r\nHost: {self.name}\r\n\r\n".encode())
            return int(tls.makefile("rb").readline().split()[1])


def healthz(url: str, server: subprocess.Popen[bytes], **headers: str) -> int:
    """The first answer once gunicorn listens (its workers import the app first)."""
    request = urllib.request.Request(url, headers={"X-Forwarded-For": "203.0.113.7", **headers})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:  # not listening yet
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer (exit status {server.poll()})")
