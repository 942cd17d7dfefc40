"""deploy/'s units run as README "Production" installs them, sandbox and all, under systemd.

``systemd-analyze verify`` (tests/test_deploy.py) checks the units' keys; only running them
shows that the portal works inside ``ProtectSystem=strict``, ``ProtectHome``, the system-call
filter and the rest. So this boots systemd in a container of its own (``systemd-nspawn``): its
root is this machine's under an overlay, so nothing it writes reaches this machine, and it
shares this machine's network, to reach the tests' PostgreSQL, Redis and an SMTP server of the
test's. Inside, the code is installed in /srv/madoguchi with README's commands, the settings
file is deploy's example completed, and a target starts the web and one job worker. The
residents' provider is the development one served over TLS on this machine, under the name
the settings give it, as an external provider would be.

Needs root, systemd-nspawn and systemd (``scripts/system-packages --test``).
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Account
from portal.casework.lifecycle import Action
from portal.casework.services import act
from portal.certificates.models import Certificate, CertificateState
from portal.devidp import create_app as create_provider
from portal.devidp.personas import ACR_CARD
from portal.extensions import db
from portal.journey.models import ProcedureRequest
from portal.transactions import unit_of_work
from tests.certificates.pki import CA, pem
from tests.certificates.support import qr_codes
from tests.certificates.test_issuing import BIRTH
from tests.conftest import TEST_DATABASE_URL
from tests.factories import AccountFactory, CaseFactory, MunicipalityFactory, RoleFactory
from tests.support.html import post_form, text
from tests.support.mail import SmtpSink
from tests.support.people import PINS
from tests.support.servers import ThreadedServer, free_port
from tests.test_deploy import DEPLOY, REPO, UNITS, completed_example, read_environment_file
from tests.test_many_processes import REDIS_URL

pytestmark = pytest.mark.postgresql

T = TypeVar("T")

#: Where the container's root is mounted; what an interrupted run left there is unmounted.
MACHINES = Path("/var/tmp/madoguchi-sandbox")
HOST = "portal.city.example.jp"
#: The residents' provider, as the container names it (its /etc/hosts: this machine's loopback).
PROVIDER_HOST = "id.example.jp"
PROVIDER_CLIENT = "madoguchi-sandbox"
#: The staff's client at the same provider (README: the staff's own provider or client).
PROVIDER_STAFF_CLIENT = "madoguchi-sandbox-staff"
#: Where the operator's CA for the provider's TLS certificate is put, inside the container.
PROVIDER_CA = "/etc/madoguchi/provider-ca.pem"
EMAIL = "taro@example.jp"
#: What the units' journal must never say: a traceback, a refused write or system call.
TROUBLE = re.compile(r"Traceback|\[ERROR\]|Errno|Permission denied|Read-only file system")
#: README "Production" step 2 (and 3's permissions), inside the container.
INSTALL = (
    "set -e; adduser --quiet --system --group --home /var/lib/madoguchi --no-create-home"
    " madoguchi; cd /srv/madoguchi; python3 -m venv .venv;"
    " .venv/bin/pip install --quiet --disable-pip-version-check -e . 2>/dev/null;"
    " .venv/bin/pybabel compile --statistics -d translations;"
    " chown -R root:madoguchi /etc/madoguchi; chmod -R u=rwX,g=rX,o= /etc/madoguchi"
)
#: gunicorn's control socket, where the web unit puts it.
GUNICORNC = "/srv/madoguchi/.venv/bin/gunicornc", "-s", "/run/madoguchi-web/gunicorn.ctl"
#: Only the portal's units start: not this machine's PostgreSQL, Redis or nginx again.
TARGET = """\
[Unit]
Description=The portal's units and nothing else of this machine's
Requires=basic.target
After=basic.target
Wants=madoguchi-web.service madoguchi-worker@1.service
"""


def _nspawn_missing() -> str | None:
    if os.geteuid() != 0:
        return "systemd-nspawn needs root"
    if not shutil.which("systemd-nspawn") or not Path("/lib/systemd/systemd").exists():
        return "no systemd-nspawn: `scripts/system-packages --test`"
    return None


def _nspawn(root: Path, *arguments: str) -> list[str]:
    return [
        "systemd-nspawn",
        "--quiet",
        f"--directory={root}",
        "--register=no",  # no machined here, and none needed
        "--keep-unit",  # no scope of its own: this machine's init need not be systemd
        "--link-journal=no",
        "--console=pipe",
        *arguments,
    ]


def _wait_for(what: str, found: Callable[[], T | None], seconds: float = 90) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := found()) is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds} s")


@dataclass
class Machine:
    """The container: its root as this machine sees it, its nspawn process, the web's URL."""

    root: Path
    nspawn: subprocess.Popen[bytes]
    web: str

    @property
    def leader(self) -> int:
        """The container's init, as this machine numbers it."""
        children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
        return int(children.read_text().split()[0])

    def run(self, *command: str) -> str:
        """A command inside the container, as its root, in all of its namespaces."""
        done = subprocess.run(
            ["nsenter", f"--target={self.leader}", "--all", "--", *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.stdout + done.stderr

    def get(
        self, path: str, cookies: dict[str, str] | None = None, **headers: str
    ) -> requests.Response:
        """A request as nginx passes it on: for the portal's host, over HTTPS (so the secure
        cookies a browser would send are given here)."""
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", **headers}
        return requests.get(
            self.web + path, headers=headers, cookies=cookies, timeout=30, allow_redirects=False
        )

    def portal(self, *arguments: str) -> str:
        """README's ``portal`` command: the flask CLI as the service's account, with its
        settings."""
        script = (
            "set -a; . /etc/madoguchi/portal.env; set +a;"
            ' cd /srv/madoguchi && exec .venv/bin/flask --app portal "$@"'
        )
        return self.run(
            "runuser", "-u", "madoguchi", "--", "sh", "-c", script, "portal", *arguments
        )

    def main_pid(self, unit: str) -> int:
        """The unit's main process, as the container numbers it (0 while it is down)."""
        return int(self.run("systemctl", "show", "--property=MainPID", "--value", unit))

    def web_workers(self) -> set[str]:
        """The web's worker processes, as ``gunicornc`` lists them through the control socket."""
        listed = self.run(*GUNICORNC, "-c", "show workers")
        return set(re.findall(r"^(\d+) ", listed, re.MULTILINE))

    def setting(self, key: str) -> str:
        return read_environment_file(self.root / "etc/madoguchi/portal.env")[key]

    def journal(self) -> str:
        return self.run("journalctl", "--no-pager", "--output=cat", "--unit=madoguchi*")

    def serving(self) -> bool | None:
        try:
            return self.get("/healthz").status_code == 200 or None
        except requests.ConnectionError:
            return None


@dataclass
class ExternalProvider:
    """The development provider as an external one: over TLS, for the container's portal."""

    issuer: str
    server: ThreadedServer
    ca_file: Path
    client_secret: str
    staff_client_secret: str

    def here(self, url: str) -> str:
        """One of its URLs as this machine reaches it (which has no name for its host)."""
        return url.replace(self.issuer, self.server.url, 1)


def _unmount(path: Path) -> None:
    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        point = line.split()[1]
        if point == str(path) or point.startswith(f"{path}/"):
            subprocess.run(["umount", "--lazy", point], check=False)


def _overlay(root: Path) -> None:
    """This machine's root under a layer in memory: what the container writes stays there."""
    layers = MACHINES / "layers"
    for folder in (layers, root):
        folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(layers)], check=True)
    (layers / "upper").mkdir()
    (layers / "work").mkdir()
    options = f"lowerdir=/,upperdir={layers}/upper,workdir={layers}/work"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], check=True)
    (root / "etc/machine-id").write_text(os.urandom(16).hex() + "\n", encoding="ascii")


def _install(root: Path, web_port: int, smtp_port: int, provider: ExternalProvider) -> None:
    """The checkout's files in /srv/madoguchi, the units, the settings; then README's steps."""
    code = root / "srv/madoguchi"
    code.mkdir(parents=True)
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (REPO / name).is_file():
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, code / name)
    units = root / "etc/systemd/system"
    for name in UNITS:
        shutil.copy(DEPLOY / name, units / name)
    (units / "madoguchi-check.target").write_text(TARGET, encoding="utf-8")
    _settings(root, web_port, smtp_port, provider)
    done = subprocess.run(
        _nspawn(root, "/bin/sh", "-c", INSTALL), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _settings(root: Path, web_port: int, smtp_port: int, provider: ExternalProvider) -> None:
    """deploy/portal.env.example completed, pointed at the tests' services; the residents'
    provider's host named in /etc/hosts, its CA given to the portal as an operator with a
    private CA would."""
    environment = completed_example(root)
    shutil.rmtree(root / "var/lib/madoguchi")  # StateDirectory= makes it, as in production
    environment = {key: value.replace(str(root), "", 1) for key, value in environment.items()}
    environment.update(
        PORTAL_DATABASE_URL=TEST_DATABASE_URL,
        PORTAL_RATELIMIT_STORAGE_URI=REDIS_URL,
        PORTAL_SMTP_HOST="127.0.0.1",
        PORTAL_SMTP_PORT=str(smtp_port),
        PORTAL_SMTP_STARTTLS="false",
        PORTAL_SMTP_USERNAME="",
        PORTAL_SMTP_PASSWORD="",
        GUNICORN_BIND=f"127.0.0.1:{web_port}",
        WEB_CONCURRENCY="2",
        PORTAL_OIDC_DISCOVERY_URL=f"{provider.issuer}/.well-known/openid-configuration",
        PORTAL_OIDC_CLIENT_ID=PROVIDER_CLIENT,
        PORTAL_OIDC_CLIENT_SECRET=provider.client_secret,
        PORTAL_OIDC_ACR=ACR_CARD,
        PORTAL_STAFF_OIDC_DISCOVERY_URL=f"{provider.issuer}/.well-known/openid-configuration",
        PORTAL_STAFF_OIDC_CLIENT_ID=PROVIDER_STAFF_CLIENT,
        PORTAL_STAFF_OIDC_CLIENT_SECRET=provider.staff_client_secret,
        REQUESTS_CA_BUNDLE=PROVIDER_CA,
    )
    shutil.copy(provider.ca_file, root / PROVIDER_CA.lstrip("/"))
    with (root / "etc/hosts").open("a", encoding="utf-8") as hosts:
        hosts.write(f"127.0.0.1 {PROVIDER_HOST}\n")
    lines = [f'{key}="{value}"' for key, value in environment.items()]
    (root / "etc/madoguchi/portal.env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _halt(nspawn: subprocess.Popen[bytes]) -> None:
    """nspawn asks the container's systemd to power off; killed if it takes too long."""
    if nspawn.poll() is None:
        nspawn.send_signal(signal.SIGTERM)
        try:
            nspawn.wait(timeout=60)
        except subprocess.TimeoutExpired:
            nspawn.kill()
            nspawn.wait()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def external_provider(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ExternalProvider]:
    folder = tmp_path_factory.mktemp("provider")
    ca = CA.make("Test TLS CA")
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(pem(ca.certificate))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*ca.write_tls_server(folder, PROVIDER_HOST))
    port = free_port()
    issuer = f"https://{PROVIDER_HOST}:{port}"
    secrets_of = {
        client: secrets.token_urlsafe(32) for client in (PROVIDER_CLIENT, PROVIDER_STAFF_CLIENT)
    }
    app = create_provider(
        {
            "DEVIDP_ISSUER": issuer,
            "DEVIDP_KEY_DIR": str(folder / "keys"),
            "DEVIDP_CLIENTS": [
                {
                    "client_id": client,
                    "client_secret": secret,
                    "redirect_uris": [f"https://{HOST}/auth/callback"],
                    "post_logout_redirect_uris": [f"https://{HOST}/"],
                }
                for client, secret in secrets_of.items()
            ],
        }
    )
    server = ThreadedServer(app, port, context).start()
    yield ExternalProvider(
        issuer, server, ca_file, secrets_of[PROVIDER_CLIENT], secrets_of[PROVIDER_STAFF_CLIENT]
    )
    server.stop()


@pytest.fixture(scope="module")
def machine(
    app: Flask,
    smtp: SmtpSink,
    external_provider: ExternalProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Machine]:
    if missing := _nspawn_missing():
        pytest.skip(missing)
    _unmount(MACHINES)
    shutil.rmtree(MACHINES, ignore_errors=True)
    root = MACHINES / "root"
    log = tmp_path_factory.mktemp("machine") / "console.log"
    nspawn = None
    try:
        _overlay(root)
        web_port = free_port()
        _install(root, web_port, smtp.port, external_provider)
        with log.open("wb") as console:
            nspawn = subprocess.Popen(
                _nspawn(root, "--boot", "--", "--unit=madoguchi-check.target"),
                stdout=console,
                stderr=subprocess.STDOUT,
            )
        machine = Machine(root, nspawn, f"http://127.0.0.1:{web_port}")
        _wait_for("the web through gunicorn", machine.serving)
        yield machine
    finally:
        if nspawn is not None:
            _halt(nspawn)
        _unmount(MACHINES)
        shutil.rmtree(MACHINES, ignore_errors=True)


def _decided_birth(app: Flask) -> int:
    """A birth notification filed in Chiyoda (whose key the settings hold), approved by its
    clerk: the certificate's job is queued for the container's worker. Its id."""
    with app.app_context():
        chiyoda = MunicipalityFactory(code="131016", name_ja="千代田区", prefecture_ja="東京都")
        case = CaseFactory(
            account=AccountFactory(display_name="山田 太郎", notified_at=EMAIL),
            workflow_key="birth",
            filed=True,
            forms=["moj.shussei"],
            municipality=chiyoda,
            answers=BIRTH,
        )
        request_id = case.requests[0].id
        clerk_id = RoleFactory(department=case.requests[0].department).account.id
        db.session.commit()
    with app.app_context(), unit_of_work():
        filed = db.session.get(ProcedureRequest, request_id)
        clerk = db.session.get(Account, clerk_id)
        assert filed is not None and clerk is not None
        act(filed, Action.CLAIM, clerk)
        act(filed, Action.APPROVE, clerk)
    return request_id


def _certificate_once_issued(app: Flask, request_id: int) -> Certificate | None:
    with app.app_context():
        found = db.session.scalar(select(Certificate).filter_by(request_id=request_id))
        if found is None or found.state is CertificateState.PENDING:
            return None
        db.session.expunge(found)
        return found


def test_the_units_start_and_serve_the_portal(machine: Machine) -> None:
    states = machine.run(
        "systemctl", "is-active", "madoguchi-migrate", "madoguchi-web", "madoguchi-worker@1"
    )
    assert states.split() == ["active"] * 3, states
    home = machine.get("/", **{"Accept-Language": "ja"})
    assert home.status_code == 200 and "引越し" in text(home.text)
    assert machine.get("/static/css/portal.css").status_code == 200
    token = machine.setting("PORTAL_METRICS_TOKEN")
    metrics = machine.get("/metrics", Authorization=f"Bearer {token}")
    assert metrics.status_code == 200 and "madoguchi_jobs_oldest_waiting_seconds" in metrics.text
    assert "Total: 2 workers" in machine.run(*GUNICORNC, "-c", "show workers")
    assert not TROUBLE.search(machine.journal()), machine.journal()


def _sign_in(
    machine: Machine, provider: ExternalProvider, start: str, persona: str
) -> tuple[requests.Response, dict[str, str]]:
    """Through the provider's form as a browser would: the portal's answer to the callback,
    and the cookies the browser then holds for the portal."""
    login = machine.get(start, **{"Accept-Language": "ja"})
    assert login.status_code == 302, login.text
    authorization = login.headers["Location"]
    assert authorization.startswith(f"{provider.issuer}/")
    browser = requests.Session()  # verify= on each request: REQUESTS_CA_BUNDLE beats the session's
    trust = str(provider.ca_file)
    page = browser.get(provider.here(authorization), verify=trust, timeout=30)
    assert page.status_code == 200, page.text[:500]
    form = post_form(page.text)
    chosen = browser.post(
        provider.here(urljoin(authorization, form.action or authorization)),
        data=dict(form.fields, persona=persona, pin=PINS[persona]),
        allow_redirects=False,
        verify=trust,
        timeout=30,
    )
    callback = chosen.headers["Location"]
    assert callback.startswith(f"https://{HOST}/auth/callback?"), chosen.text[:500]
    cookies = login.cookies.get_dict()
    back = machine.get(callback.removeprefix(f"https://{HOST}"), cookies=cookies)
    assert back.status_code in (302, 303), back.text[:1000]
    return back, cookies | back.cookies.get_dict()


def test_a_resident_signs_in_through_an_external_provider_over_tls(
    machine: Machine, external_provider: ExternalProvider
) -> None:
    """From inside its sandbox the web reads the provider's discovery document and keys and
    exchanges the code over TLS, trusting the operator's CA: the resident is signed in."""
    back, cookies = _sign_in(machine, external_provider, "/auth/login", "yamada-taro")
    home = machine.get(
        urlsplit(back.headers["Location"]).path, cookies, **{"Accept-Language": "ja"}
    )
    assert home.status_code == 200 and "山田" in text(home.text), text(home.text)[:1000]
    assert not TROUBLE.search(machine.journal()), machine.journal()


def test_the_first_admin_is_appointed_as_readme_step_8_says(
    machine: Machine, external_provider: ExternalProvider
) -> None:
    """A staff sign-in at the staff's own client, the account number on the page it lands
    on, README's `portal staff grant admin --account NUMBER --portal` run as the service's
    account with its settings: then the staff pages open."""
    back, cookies = _sign_in(machine, external_provider, "/auth/staff/login", "watanabe-yui")
    landed = machine.get(back.headers["Location"], cookies, **{"Accept-Language": "ja"})
    number = re.search(r"アカウント番号：(\d+)", text(landed.text))
    assert number is not None, text(landed.text)[:1000]
    assert machine.get("/staff/", cookies).status_code == 404
    granted = machine.portal("staff", "grant", "admin", "--account", number[1], "--portal")
    assert f"granted admin to account {number[1]}" in granted, granted
    staff_home = machine.get("/staff/", cookies, **{"Accept-Language": "ja"})
    assert staff_home.status_code == 200, text(staff_home.text)[:1000]
    assert not TROUBLE.search(machine.journal()), machine.journal()


def test_each_unit_sees_its_code_and_settings_read_only_and_writes_only_its_state(
    machine: Machine,
) -> None:
    for unit in ("madoguchi-web", "madoguchi-worker@1"):
        mounts = machine.run("cat", f"/proc/{machine.main_pid(unit)}/mountinfo")
        options = {line.split()[4]: line.split()[5] for line in mounts.splitlines()}
        assert options["/"].startswith("ro"), unit
        for writable in ("/var/lib/madoguchi/uploads", "/var/lib/madoguchi/certificates"):
            assert options[writable].startswith("rw"), (unit, writable)
        assert options["/root"].startswith("ro"), unit  # ProtectHome: not even readable
        exposure = machine.run("systemd-analyze", "security", "--no-pager", unit)
        score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", exposure)[1])  # type: ignore[index]
        assert score <= 2.0, exposure  # 1.5 ("OK") with Debian 12's systemd 252


def test_the_worker_issues_a_signed_certificate_and_mails_its_holder(
    app: Flask, machine: Machine, smtp: SmtpSink, tmp_path: Path
) -> None:
    """The job renders with the fonts, signs with the key in /etc/madoguchi/signing, writes
    under /var/lib/madoguchi/certificates; the holder's e-mail links to the portal's host."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    request_id = _decided_birth(app)
    certificate = _wait_for(
        "the certificate", lambda: _certificate_once_issued(app, request_id), seconds=60
    )
    assert (certificate.state, certificate.attempts) == (CertificateState.ISSUED, 1)
    assert certificate.storage_name is not None
    inside = f"/var/lib/madoguchi/certificates/{certificate.storage_name}"
    stored = machine.root / inside.lstrip("/")
    owner = machine.run("stat", "--format=%U %a", inside)
    assert owner.split() == ["madoguchi", "600"]  # no other account of the machine reads it
    pdf = stored.read_bytes()
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures
    assert signature.sig_object["/Name"] == "東京都千代田区"

    (url,) = qr_codes(stored, tmp_path)
    assert url.startswith(f"https://{HOST}/verify/{certificate.serial}?c=")
    verified = machine.get(url.removeprefix(f"https://{HOST}"), **{"Accept-Language": "ja"})
    assert "この証明書は有効です" in text(verified.text)

    status_list = machine.get(
        f"/status-lists/{certificate.status_list_id}", Accept="application/statuslist+jwt"
    )
    assert status_list.status_code == 200
    assert status_list.headers["Content-Type"].startswith("application/statuslist+jwt")

    mail = _wait_for("the e-mail", lambda: smtp.received[-1] if smtp.received else None, 60)
    assert mail["To"] == EMAIL
    assert f"https://{HOST}/mailbox/" in mail.get_content()
    assert not TROUBLE.search(machine.journal()), machine.journal()


def _two(workers: set[str]) -> set[str] | None:
    return workers if len(workers) == 2 else None


def _running_again(machine: Machine, unit: str, before: int) -> bool | None:
    return machine.main_pid(unit) not in (0, before) or None


def test_the_units_restart_as_readme_says(machine: Machine) -> None:
    """A killed worker comes back; restarting the migrations restarts the web and the workers
    after them (README step 8); a reload replaces the web's workers, not its master."""
    worker = machine.main_pid("madoguchi-worker@1")
    machine.run("kill", "-KILL", str(worker))
    _wait_for("the worker again", lambda: _running_again(machine, "madoguchi-worker@1", worker))

    web, worker = machine.main_pid("madoguchi-web"), machine.main_pid("madoguchi-worker@1")
    machine.run("systemctl", "restart", "madoguchi-migrate")
    assert _running_again(machine, "madoguchi-web", web)
    assert _running_again(machine, "madoguchi-worker@1", worker)
    _wait_for("the web after the restart", machine.serving)

    # Serving takes one worker; the control socket lists the master's workers once it is up.
    before = _wait_for("both web workers", lambda: _two(machine.web_workers()))
    master = machine.main_pid("madoguchi-web")
    machine.run("systemctl", "reload", "madoguchi-web")
    _wait_for("new web workers", lambda: len(machine.web_workers() - before) == 2 or None)
    assert machine.main_pid("madoguchi-web") == master
    assert machine.serving()
    assert not TROUBLE.search(machine.journal()), machine.journal()
