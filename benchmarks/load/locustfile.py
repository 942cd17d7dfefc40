"""The March peak, played against a running portal: ``benchmarks/load/run.py`` starts one.

March is moving month: most visitors are residents moving house between municipalities, a
few clerks work their departments' queues, and residents come back for their certificates.

- ``Resident`` (most users): signs in at the development provider as a load persona of its
  own (``load-0001`` …, ``PORTAL_DEVIDP_LOAD_PERSONAS``): the portal's redirect, the
  provider's sign-in form with the PIN, the callback. Then walks the moving journey out of
  Chiyoda into Yokohama page by page with the answers ``run.py`` recorded
  (``LOAD_ROUTE``), submits it, reads the receipt and the dashboard (its status), and closes
  the browser: the next visit is another resident. With ``LOAD_MAIL`` (``run.py --mail``)
  it first turns on e-mail notifications at the settings page.
- ``Clerk``: signs in as a demo clerk of Chiyoda or Yokohama, opens the staff home and a
  department's queue, claims the next request and approves it, as often as a clerk would.
- ``ReturningResident``: signs in as a resident who submitted earlier in the run, opens the
  receipt and downloads the certificates issued so far (the submission receipt, and the
  moving-out certificate once a clerk approved it), rendered by the job workers.
- ``Hello``: ``run.py --ceiling`` only; the plain page of ``benchmarks/load/hello.py``.

Custom counts (journey steps: a journey page's POST that moved on to the next page;
submissions, sign-ins, claims, approvals, certificate downloads, the receipt numbers seen)
go to ``LOAD_SUMMARY`` as JSON when locust quits, with the page requests' percentiles and
the requests that succeeded and failed in each second (``run.py --fault`` reads when failures
began and ended); with ``--processes`` the workers send theirs to the master with their
reports.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import re
import time
from collections import Counter
from html import unescape
from typing import Any
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import calculate_response_time_percentile

IDP = os.environ.get("LOAD_IDP", "http://127.0.0.1:5001").rstrip("/")
ROUTE_FILE = os.environ.get("LOAD_ROUTE", "")
SUMMARY_FILE = os.environ.get("LOAD_SUMMARY", "")
PERSONAS = int(os.environ.get("LOAD_PERSONAS", "1000"))
PROCESSES = max(1, int(os.environ.get("LOAD_PROCESSES", "1")))
THINK = float(os.environ.get("LOAD_THINK", "1.0"))
#: ``run.py --mail``: each resident turns on e-mail notifications before the journey.
MAIL = os.environ.get("LOAD_MAIL", "") == "1"
NOTIFICATIONS = "/account/notifications/"
LOAD_PIN = "7777"  # portal.devidp.personas.LOAD_PIN, not imported: locust needs no portal
#: Demo clerks of the municipalities the move involves, and their PINs (README).
CLERKS = (("tanaka-jiro", "1111"), ("takahashi-misaki", "2222"))

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
INPUT = re.compile(r"<input\b([^>]*)>")
ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
CASE = re.compile(r"/cases/(\d+)/")
RECEIPT = re.compile(r"\b\d{6}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
CERTIFICATE = re.compile(r'href="(/certificates/\d+/download)"')
DEPARTMENT = re.compile(r'href="/staff/departments/(\d+)"')


class Unexpected(Exception):
    """The portal answered something a browser would not have gone on from."""


class Stopping(Exception):
    """The run's time is up: the visit ends before its next request, so that no request is
    cut off half-way (a submit the portal filed but locust never heard back from)."""


STOPPING = False


@events.test_start.add_listener
def _started(**_kwargs: Any) -> None:
    global STOPPING
    STOPPING = False


@events.test_stopping.add_listener
def _stopping(**_kwargs: Any) -> None:
    global STOPPING
    STOPPING = True


# What every process counts, sent to the master with each report ---------------------------

COUNTS: Counter[str] = Counter()
RECEIPTS: list[str] = []
#: The ids of the cases whose submit POST succeeded (302 to the receipt).
SENT: list[int] = []
#: (persona, case id) of cases this process submitted, for the returning residents.
SUBMITTED: list[tuple[str, int]] = []
TOTALS: Counter[str] = Counter()
ALL_RECEIPTS: list[str] = []
ALL_SENT: list[int] = []
#: Requests that succeeded and that failed, by the second (Unix time) each was sent in: when a fault
#: run's failures began and ended.
SUCCEEDED: Counter[int] = Counter()
FAILED: Counter[int] = Counter()
ALL_SUCCEEDED: Counter[int] = Counter()
ALL_FAILED: Counter[int] = Counter()


@events.request.add_listener
def _outcome(start_time: float, exception: Any = None, **_kwargs: Any) -> None:
    (FAILED if exception else SUCCEEDED)[int(start_time)] += 1


@events.report_to_master.add_listener
def _report(client_id: str, data: dict[str, Any]) -> None:
    data["load_counts"] = dict(COUNTS)
    data["load_receipts"] = list(RECEIPTS)
    data["load_sent"] = list(SENT)
    data["load_succeeded"] = dict(SUCCEEDED)
    data["load_failed"] = dict(FAILED)
    COUNTS.clear()
    RECEIPTS.clear()
    SENT.clear()
    SUCCEEDED.clear()
    FAILED.clear()


@events.worker_report.add_listener
def _received(client_id: str, data: dict[str, Any]) -> None:
    TOTALS.update(data.get("load_counts", {}))
    ALL_RECEIPTS.extend(data.get("load_receipts", []))
    ALL_SENT.extend(data.get("load_sent", []))
    ALL_SUCCEEDED.update({int(k): v for k, v in data.get("load_succeeded", {}).items()})
    ALL_FAILED.update({int(k): v for k, v in data.get("load_failed", {}).items()})


@events.quitting.add_listener
def _write_summary(environment: Any, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or not SUMMARY_FILE:
        return
    if not isinstance(environment.runner, MasterRunner):
        TOTALS.update(COUNTS)
        ALL_RECEIPTS.extend(RECEIPTS)
        ALL_SENT.extend(SENT)
        ALL_SUCCEEDED.update(SUCCEEDED)
        ALL_FAILED.update(FAILED)
    stats = environment.stats
    groups = {group: _group(stats, group) for group in ("page", "idp", "pdf")}
    summary = {
        "duration": max(stats.total.last_request_timestamp - stats.total.start_time, 1e-9)
        if stats.total.last_request_timestamp
        else 0.0,
        "requests": stats.total.num_requests,
        "failures": stats.total.num_failures,
        "groups": groups,
        "counts": dict(TOTALS),
        "receipts": ALL_RECEIPTS,
        "sent": ALL_SENT,
        "by_second": {
            second: [ALL_SUCCEEDED[second], ALL_FAILED[second]]
            for second in sorted(ALL_SUCCEEDED.keys() | ALL_FAILED.keys())
        },
        "errors": [
            {
                "name": e.name,
                "method": e.method,
                "error": str(e.error),
                "occurrences": e.occurrences,
            }
            for e in stats.errors.values()
        ],
    }
    with open(SUMMARY_FILE, "w", encoding="utf-8") as out:
        json.dump(summary, out, ensure_ascii=False, indent=1)


def _group(stats: Any, group: str) -> dict[str, Any]:
    """Requests whose name starts with the group's word ("page" has none), percentiles over
    their merged response times."""
    times: Counter[int] = Counter()
    requests = failures = 0
    for (name, _method), entry in stats.entries.items():
        if _group_of(name) != group:
            continue
        times.update(entry.response_times)
        requests += entry.num_requests
        failures += entry.num_failures
    percentiles = {
        f"p{int(p * 100)}": calculate_response_time_percentile(times, requests, p)
        if requests
        else None
        for p in (0.5, 0.95, 0.99)
    }
    return {"requests": requests, "failures": failures, **percentiles}


def _group_of(name: str) -> str:
    head = name.split(" ", 1)[0]
    return head if head in ("idp", "pdf") else "page"


# Pages ------------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if found is None:
        raise Unexpected("no CSRF token on the page")
    return unescape(found.group(1) or found.group(2))


def forms(html: str) -> list[tuple[str, dict[str, str]]]:
    """Each form's action and its hidden and named inputs, as a browser would post them."""
    found = []
    for attributes, body in FORM.findall(html):
        action = unescape(dict(ATTRIBUTE.findall(attributes)).get("action", ""))
        fields = {}
        for tag in INPUT.findall(body):
            attrs = dict(ATTRIBUTE.findall(tag))
            if "name" in attrs and attrs.get("type") not in ("checkbox", "radio", "file"):
                fields[unescape(attrs["name"])] = unescape(attrs.get("value", ""))
        found.append((action, fields))
    return found


def encoded(data: dict[str, Any]) -> tuple[str | bytes, str]:
    """A form body as a browser sends it; file answers (``{"file": base64}``) as multipart."""
    if not any(isinstance(v, dict) and "file" in v for v in data.values()):
        return urlencode(data, doseq=True), "application/x-www-form-urlencoded"
    boundary = "madoguchi-load-" + "".join(random.choices("0123456789abcdef", k=16))
    parts = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, dict):
                head = f'name="{key}"; filename="{one["filename"]}"\r\nContent-Type: {one["type"]}'
                body = base64.b64decode(one["file"])
            else:
                head, body = f'name="{key}"', str(one).encode()
            parts.append(
                f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode()
                + body
                + b"\r\n"
            )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _route() -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    if not ROUTE_FILE:
        return "", []
    with open(ROUTE_FILE, encoding="utf-8") as route:
        recorded = json.load(route)
    return recorded["first"], [(slug, answers) for slug, answers in recorded["pages"]]


def local(response: Any) -> str:
    """The redirect's path and query: the portal's own absolute URLs are followed as paths,
    so that each request carries this person's client address."""
    location = urlsplit(response.headers.get("Location", ""))
    return location.path + (f"?{location.query}" if location.query else "")


FIRST_PAGE, ROUTE = _route()
_numbers = itertools.count()
_visits = itertools.count()
WORKER = 0


class Browser(FastHttpUser):
    """A person at a browser: cookies of their own, redirects followed by hand (each one a
    request of its own in the figures), their own client address behind the proxy."""

    abstract = True
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        global WORKER
        WORKER = getattr(environment.runner, "worker_index", 0) or 0
        self.number = WORKER + next(_numbers) * PROCESSES
        # One client address each, as behind one TLS proxy (PORTAL_TRUSTED_PROXIES=1): the
        # per-address limits count each person, never the whole load as one. A header only.
        self.address = (
            f"127.{(self.number >> 16) % 256}.{(self.number >> 8) % 256}.{self.number % 256 or 1}"
        )

    def think(self) -> None:
        if THINK > 0 and not STOPPING:
            time.sleep(random.uniform(0.5, 1.5) * THINK)

    def fresh_browser(self) -> None:
        self.client.cookiejar.clear()

    def call(
        self,
        method: str,
        url: str,
        name: str,
        expect: int,
        data: dict[str, Any] | None = None,
        to: str | None = None,
    ) -> Any:
        """One request; a status other than ``expect`` (or a redirect elsewhere than ``to``)
        fails it and raises, ending the visit as a person would give up."""
        if STOPPING:
            raise Stopping
        headers = {}
        body = None
        if url.startswith("/"):
            headers["X-Forwarded-For"] = self.address
        if data is not None:
            body, headers["Content-Type"] = encoded(data)
        with self.client.request(
            method,
            url,
            name=name,
            data=body,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            assert isinstance(response, ResponseContextManager)
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code != expect:
                response.failure(f"{response.status_code}, not {expect}")
                raise Unexpected(name)
            if to is not None and not urlsplit(location).path.endswith(to):
                response.failure(f"redirected to {location}, not …{to}")
                raise Unexpected(name)
            response.success()
            return response

    def sign_in(self, persona: str, pin: str, start: str = "/auth/login") -> str:
        """The portal's redirect, the provider's form (hinted), the callback: the home page's
        HTML once signed in."""
        sent = self.call("GET", start, "GET " + start, 302)
        authorize = sent.headers["Location"] + "&login_hint=" + persona
        page = self.call("GET", authorize, "idp GET /authorize", 200)
        action = next(a for a, _fields in forms(page.text) if a.startswith("/authorize"))
        posted = self.call(
            "POST",
            IDP + action,
            "idp POST /authorize",
            302,
            {"csrf_token": csrf_token(page.text), "persona": persona, "pin": pin},
        )
        back = urlsplit(posted.headers["Location"])
        home = self.call("GET", f"{back.path}?{back.query}", "GET /auth/callback", 302)
        COUNTS["sign_ins"] += 1
        return str(self.call("GET", local(home), "GET home", 200).text)

    @task
    def visit(self) -> None:
        try:
            self.one_visit()
        except Stopping:
            return
        except (Unexpected, KeyError, StopIteration, AttributeError):
            COUNTS["visits_given_up"] += 1
            self.fresh_browser()
            time.sleep(1.0)

    def one_visit(self) -> None:
        raise NotImplementedError


class Resident(Browser):
    """Moving out of Chiyoda into Yokohama, from sign-in to the receipt: a new resident each
    visit (the personas are shared out between locust's processes)."""

    weight = 16

    def one_visit(self) -> None:
        self.fresh_browser()
        persona = f"load-{1 + (WORKER + next(_visits) * PROCESSES) % PERSONAS:04d}"
        home = self.sign_in(persona, LOAD_PIN)
        if MAIL:
            home = self.notify_by_email()
        self.think()
        started = self.call(
            "POST",
            "/cases/",
            "POST /cases/",
            302,
            {"csrf_token": csrf_token(home), "workflow": "moving"},
        )
        found = CASE.search(local(started) + "/")
        if found is None:
            raise Unexpected("no case in the redirect")
        case_id = int(found.group(1))
        resumed = self.call("GET", local(started), "GET /cases/:id", 302, to="/" + FIRST_PAGE)
        page = self.call("GET", local(resumed), "GET /cases/:id/:page", 200)
        for index, (slug, answers) in enumerate(ROUTE):
            self.think()
            following = ROUTE[index + 1][0] if index + 1 < len(ROUTE) else "check"
            answered = self.call(
                "POST",
                f"/cases/{case_id}/{slug}",
                "POST /cases/:id/:page",
                302,
                {**answers, "csrf_token": csrf_token(page.text)},
                to="/" + following,
            )
            COUNTS["journey_steps"] += 1
            page = self.call("GET", local(answered), "GET /cases/:id/:page", 200)
        self.think()
        sent = self.call(
            "POST",
            f"/cases/{case_id}/submit",
            "POST /cases/:id/submit",
            302,
            {"csrf_token": csrf_token(page.text), "declaration": "y"},
            to="/receipt",
        )
        COUNTS["submissions"] += 1
        SENT.append(case_id)
        receipt = self.call("GET", local(sent), "GET /cases/:id/receipt", 200)
        numbers = RECEIPT.findall(receipt.text)
        if numbers:
            RECEIPTS.append(numbers[0])
        SUBMITTED.append((persona, case_id))
        self.think()
        self.call("GET", "/", "GET home", 200)  # the status, as the dashboard shows it
        self.fresh_browser()  # the browser closed: the next visit is someone else

    def notify_by_email(self) -> str:
        """The settings page, then one click for the address the provider verified (the
        load personas have one): the page's HTML after it, with a CSRF token to go on."""
        page = self.call("GET", NOTIFICATIONS, "GET /account/notifications/", 200)
        self.think()
        self.call(
            "POST",
            NOTIFICATIONS + "provider-address",
            "POST /account/notifications/provider-address",
            302,
            {"csrf_token": csrf_token(page.text)},
            to=NOTIFICATIONS,
        )
        return str(self.call("GET", NOTIFICATIONS, "GET /account/notifications/", 200).text)


class ReturningResident(Browser):
    """Back for the certificates: the receipt, then each certificate issued so far."""

    weight = 2

    def one_visit(self) -> None:
        if not SUBMITTED:
            time.sleep(2.0)
            return
        self.fresh_browser()
        persona, case_id = random.choice(SUBMITTED)
        self.sign_in(persona, LOAD_PIN)
        self.think()
        receipt = self.call("GET", f"/cases/{case_id}/receipt", "GET /cases/:id/receipt", 200)
        for link in dict.fromkeys(CERTIFICATE.findall(receipt.text)):
            self.think()
            self.call("GET", link, "pdf GET /certificates/:id/download", 200)
            COUNTS["certificate_downloads"] += 1
        self.think()
        self.fresh_browser()


class Clerk(Browser):
    """A demo clerk of Chiyoda or Yokohama: the queue, claim the next, approve it."""

    weight = 2

    def on_start(self) -> None:
        self.signed_in = ""

    def one_visit(self) -> None:
        persona, pin = CLERKS[self.number % len(CLERKS)]
        if not self.signed_in:
            self.fresh_browser()
            self.signed_in = self.sign_in(persona, pin, "/auth/staff/login")
        try:
            self.work()
        except Unexpected:
            self.signed_in = ""
            raise

    def work(self) -> None:
        home = self.call("GET", "/staff/", "GET /staff/", 200)
        departments = DEPARTMENT.findall(home.text)
        if not departments:
            raise Unexpected("no department on the staff home")
        department = random.choice(departments)
        self.think()
        queue = self.call(
            "GET", f"/staff/departments/{department}", "GET /staff/departments/:id", 200
        )
        COUNTS["queue_views"] += 1
        self.think()
        claimed = self.call(
            "POST",
            f"/staff/departments/{department}/claim-next",
            "POST /staff/departments/:id/claim-next",
            303,
            {"csrf_token": csrf_token(queue.text)},
        )
        where = local(claimed)
        if "/staff/requests/" not in where:
            COUNTS["queue_empty"] += 1
            self.call("GET", where, "GET /staff/departments/:id", 200)
            return
        COUNTS["claims"] += 1
        page = self.call("GET", where, "GET /staff/requests/:id", 200)
        approve = next((f for _action, f in forms(page.text) if "approve-version" in f), None)
        self.think()
        if approve is None:
            COUNTS["approve_not_offered"] += 1
            return
        done = self.call(
            "POST", where, "POST /staff/requests/:id", 303, {**approve, "approve-submit": "y"}
        )
        COUNTS["approvals"] += 1
        self.call("GET", local(done), "GET /staff/requests/:id", 200)


class Hello(FastHttpUser):
    """The ceiling: ``run.py --ceiling`` serves ``hello.py`` with the portal's gunicorn
    settings and names this class alone."""

    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/", name="GET hello")
