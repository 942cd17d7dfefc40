"""Every route of ``app.url_map``, with hostile values for every parameter, never answers 5xx.

As anonymous, as a signed-in resident with cases in every state, as a clerk and as a portal
admin (who reaches the admin pages): each route with each of its methods, path parameters
drawn from real ids and hostile values, the query parameters the code reads, and on POST
every field of the forms that post there (with a valid CSRF token, so that the values reach
the view). Every answer must be below 500 and carry our
security headers, and nothing but a static file may be kept by the browser.

A fixed sweep first sends hostile constants in every parameter and field (and one field at a
time among plausible ones), so that what is known to fail fails on every run; then Hypothesis
mixes values, eight examples a route, without shrinking (a failure is reported as sent).
About 2 min for the four roles on this 2-core machine, most of it the resident's 25 pages.
"""

from __future__ import annotations

import io
import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Rule

from portal import access
from portal.accounts.models import Account
from portal.casework.lifecycle import Action
from portal.casework.services import act
from portal.extensions import db
from portal.journey.models import Attachment, Case, ProcedureRequest
from portal.tenancy.models import Department, Municipality
from portal.web.security import is_publicly_cacheable
from tests.factories import RoleFactory
from tests.support.html import forms
from tests.support.journey import MOVING_AS_PROXY, WITHIN, Resident
from tests.support.people import Person

PORTAL = Path(__file__).resolve().parent.parent / "portal"

#: Values that broke, or could break, a parser somewhere: control characters, bidi
#: controls, numbers past Python's 4,300-digit limit, negatives, huge and odd unicode.
HOSTILE_CONSTANTS = [
    "",
    "\x00",
    "a\r\nSet-Cookie: x=1",
    "\u202e\u2066gnp.exe\u2069",
    "9" * 5000,
    "-" + "9" * 5000,
    "-1",
    "2147483648",  # one past PostgreSQL's integer: an id column's type
    "9223372036854775808",  # one past bigint
    "NaN",
    "０１２３",
    '"><script>alert(1)</script>',
    "𠮷野家" * 300,
    "x" * 20_000,
]
#: The ones sent in every field of every page (the rest reach pages through Hypothesis).
SWEPT_ON_EVERY_PAGE = ["", "a\r\nSet-Cookie: x=1", "\u202e\u2066gnp.exe\u2069", "9" * 5000]
SWEPT_ON_EVERY_PAGE += ["-" + "9" * 5000, "𠮷野家" * 300, "x" * 20_000]
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_CONSTANTS),
    st.text(max_size=40),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000),
)
#: Query parameters read by name: ours (``request.args.get("...")`` in portal/, or
#: ``args.get("...")`` of the mapping a view hands over, as the queue's filters) and the
#: authorization response's (RFC 6749: code, state).
QUERY_NAMES = sorted(
    {
        name
        for path in PORTAL.rglob("*.py")
        if "devidp" not in path.parts
        for name in re.findall(r"\bargs\.get\(\s*\"([^\"]+)\"", path.read_text())
    }
    | {"code", "state"}
)
#: Routes that end what the others need (the draft, the session) go last.
LAST = ("journey.submit", "journey.discard", "auth.logout")
#: Being split into a package by another engineer, who fixes its 500s there (e.g. a number
#: field's or a date's ``int()`` of more than 4,300 digits).
EXAMPLES_PER_ROUTE = 8


def _kept_when_it_may_not_be(app: Flask, rule: Rule, response: Any) -> bool:
    """Only static files and the public status lists' answers (200, 304) may be kept."""
    if rule.endpoint == "static":
        return False
    if is_publicly_cacheable(app.view_functions[rule.endpoint]) and response.status_code in (
        200,
        304,
    ):
        return not response.headers.get("Cache-Control", "").startswith("public, max-age=")
    return response.headers.get("Cache-Control") != "no-store"


@dataclass
class PostedForm:
    fields: dict[str, str] = field(default_factory=dict)
    #: Named buttons: pressing one changes what the view does (add an entry, look up).
    buttons: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


@dataclass
class World:
    """Real objects to aim at: every path seen on the pages, by endpoint, and the forms that
    post to each path."""

    ids: list[int] = field(default_factory=list)
    #: In the order a resident meets them.
    paths: dict[str, list[str]] = field(default_factory=dict)
    forms: dict[str, PostedForm] = field(default_factory=dict)
    csrf_token: str = ""


class _Page(HTMLParser):
    """Links, and the file inputs and buttons of each form, which ``tests.support.html`` does
    not tell apart."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.files: list[set[str]] = []
        self.buttons: list[set[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        elif tag == "form":
            self.files.append(set())
            self.buttons.append(set())
        elif not self.files or not a.get("name"):
            return
        elif tag == "input" and a.get("type") == "file":
            self.files[-1].add(str(a["name"]))
        elif tag == "button":
            self.buttons[-1].add(str(a["name"]))


def _build_world(app: Flask, resident: Resident, client: FlaskClient) -> World:
    """A submitted moving case with a document, a draft walked to its check page and a draft
    just started, all yamada-taro's; then what ``client`` (the role under test) sees."""
    proxy = MOVING_AS_PROXY
    walked = resident.walk(resident.start("moving"), proxy, until="/check")
    proxy_pages = [url for url, _ in walked.pages]
    assert resident.submit(walked.last).status_code == 302
    _ask_a_correction(app, resident.case_id)
    draft = resident.walk(resident.start("moving"), WITHIN)
    birth = resident.walk(resident.start("birth"), {})  # number fields
    resident.start("death")
    world = World()
    with app.app_context():
        for model in (Case, Attachment, Department, Municipality, Account, ProcedureRequest):
            world.ids += db.session.scalars(select(model.id)).all()
    adapter = app.url_map.bind("localhost")
    pending = ["/", "/staff/", *proxy_pages, *[url for url, _ in draft.pages + birth.pages]]
    pending += [f"/cases/{i}" for i in world.ids] + [f"/cases/{i}/receipt" for i in world.ids]
    pending += [f"/staff/requests/{i}" for i in world.ids]
    seen: set[str] = set()
    while pending and len(seen) < 300:
        url = urlsplit(pending.pop(0)).path
        if url in seen or not url.startswith("/"):
            continue
        seen.add(url)
        try:
            endpoint, _ = adapter.match(url, method="GET")
        except (NotFound, MethodNotAllowed):
            continue
        _add(world.paths.setdefault(endpoint, []), url)
        response = client.get(url)
        response.close()
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = _Page()
        page.feed(response.text)
        pending += page.links
        for form, files, buttons in zip(
            forms(response.text), page.files, page.buttons, strict=True
        ):
            if form.method != "post":
                continue
            action = urlsplit(form.action).path or url
            try:
                endpoint, _ = adapter.match(action, method="POST")
            except (NotFound, MethodNotAllowed):
                continue
            _add(world.paths.setdefault(endpoint, []), action)
            posted = world.forms.setdefault(action, PostedForm())
            for name, values in form.choices.items():
                kept = posted.buttons if name in buttons else posted.fields
                kept[name] = values[0]
            posted.fields.update({k: v for k, v in form.fields.items() if k != "csrf_token"})
            posted.files |= files
            world.csrf_token = form.fields.get("csrf_token", world.csrf_token)
    return world


def _ask_a_correction(app: Flask, case_id: int | None) -> None:
    """A clerk asks to correct the move-out's address, date, household, phone and letter of
    delegation: the correction page has a field of each kind to aim at."""
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        move_out = next(r for r in case.requests if r.form_id == "mic.tenshutsu")
        clerk = RoleFactory(department=move_out.department).account
        act(move_out, Action.CLAIM, clerk)
        act(
            move_out,
            Action.ASK_CORRECTION,
            clerk,
            reason="Check these",
            fields=["move.new_address", "move.date", "move.members", "applicant.phone"],
            documents=["filing.delegation_letter"],
        )
        db.session.commit()


def _add(paths: list[str], path: str) -> None:
    if path not in paths:
        paths.append(path)


def _rules(app: Flask) -> list[tuple[Rule, str]]:
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(
        found,
        key=lambda pair: (
            (LAST.index(pair[0].endpoint) if pair[0].endpoint in LAST else -1,)
            + (pair[0].endpoint, pair[1])
        ),
    )


def _path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each argument put in literally (percent-encoded), so that values
    a converter refuses are sent too."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", quote(values[name], safe=""), path)
    return path


@dataclass
class Failure:
    request: str
    status: int
    problem: str
    raised_in: str = ""


class _Errors(logging.Handler):
    """The traceback our error handler logs for a 500: where it was raised."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def _raised_in(record: logging.LogRecord | None) -> str:
    """Where in portal/ it was raised: ``values.py:400 parse_number``."""
    if record is None or not record.exc_info or record.exc_info[2] is None:
        return ""
    frames = traceback.extract_tb(record.exc_info[2])
    ours = [f for f in frames if "/portal/" in f.filename]
    frame = (ours or frames)[-1]
    return f"{frame.filename.split('/portal/')[-1]}:{frame.lineno} {frame.name}"


def _shown(values: dict[str, Any]) -> dict[str, str]:
    return {k: (v if len(v) < 60 else f"{v[:20]!r}... ({len(v)} chars)") for k, v in values.items()}


def _fuzz_route(
    app: Flask, client: FlaskClient, world: World, rule: Rule, method: str
) -> list[Failure]:
    failures: list[Failure] = []
    errors = _Errors()
    app.logger.addHandler(errors)
    real_paths = world.paths.get(rule.endpoint, [])
    real_args = [str(i) for i in world.ids] or ["1"]
    made_path = st.fixed_dictionaries(
        {name: st.one_of(st.sampled_from(real_args), HOSTILE) for name in rule.arguments}
    ).map(lambda args: _path(rule, args))
    some_path = st.one_of(st.sampled_from(real_paths), made_path) if real_paths else made_path

    def send(path: str, query: dict[str, str], values: dict[str, str]) -> None:
        url = path + ("?" + urlencode(query) if query else "")
        data: dict[str, Any] | None = None
        content_type = None
        if method == "POST":
            data = {**values, "csrf_token": world.csrf_token}
            files = world.forms[path].files & set(values) if path in world.forms else set()
            if files:
                content_type = "multipart/form-data"
                for name in files:
                    data[name] = (io.BytesIO(values[name].encode()), values[name][:200] or "a.pdf")
        errors.records.clear()
        response = client.open(url, method=method, data=data, content_type=content_type)
        response.close()
        problem = ""
        if response.status_code >= 500:
            problem = "answered 5xx"
        elif "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", ""):
            problem = "no security headers"
        elif _kept_when_it_may_not_be(app, rule, response):
            problem = f"Cache-Control: {response.headers.get('Cache-Control')}"
        if problem:
            failures.append(
                Failure(
                    f"{method} {url[:200]} {_shown(values) if method == 'POST' else ''}",
                    response.status_code,
                    problem,
                    _raised_in(errors.records[-1] if errors.records else None),
                )
            )

    def form_of(path: str) -> PostedForm:
        return world.forms.get(path, PostedForm())

    try:
        # The fixed sweep: every hostile constant in every parameter; on POST, in every field
        # of every form, latest page first (saving an early page can hide the later ones).
        for constant in HOSTILE_CONSTANTS:
            send(_path(rule, {name: constant for name in rule.arguments}), {}, {})
            for path in real_paths[:2] if method == "GET" else []:
                send(path, {name: constant for name in QUERY_NAMES}, {})
        for path in reversed(real_paths) if method == "POST" else []:
            posted = form_of(path)
            if path not in world.forms:  # not this role's page: it has no form to fill
                send(path, {}, {"x": "9" * 5000})
                continue
            for constant in SWEPT_ON_EVERY_PAGE:
                values = {name: constant for name in [*posted.fields, *posted.files]}
                send(path, {}, values)  # every field: the form is validated
            for constant in SWEPT_ON_EVERY_PAGE[:3] if posted.buttons else []:  # buttons pressed
                values = {name: constant for name in [*posted.fields, *posted.buttons]}
                send(path, {}, values)
            for button, value in posted.buttons.items():  # a button's own value, its numbers
                for number in ("9" * 5000, "-1", "99999999999999999999"):
                    send(path, {}, {**posted.fields, button: re.sub(r"\d+", number, value)})
            # One field hostile, the others plausible: a check after a plausible year (4
            # digits) reads the month, after a plausible month the day.
            plausible = {name: "2026" for name in posted.fields}
            for name in posted.fields:
                send(path, {}, {**plausible, name: "9" * 5000})

        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def random_values(data: st.DataObject) -> None:
            path = data.draw(some_path)
            query = data.draw(st.dictionaries(st.sampled_from(QUERY_NAMES), HOSTILE, max_size=3))
            posted = form_of(path)
            names = [*posted.fields, *posted.files]
            values = data.draw(
                st.fixed_dictionaries(
                    {name: HOSTILE for name in names},
                    optional={
                        name: st.sampled_from([value, *HOSTILE_CONSTANTS])
                        for name, value in posted.buttons.items()
                    },
                )
            )
            send(path, query if method == "GET" else {}, values if method == "POST" else {})

        random_values()
    finally:
        app.logger.removeHandler(errors)
    return failures


@pytest.fixture
def world_for(app: Flask, resident, client: FlaskClient) -> Iterator[Any]:
    """``world_for(role)``: the role's client and what it can aim at."""

    def make(role: str) -> tuple[FlaskClient, World]:
        owner = resident("yamada-taro")
        if role == "resident":
            chosen = client
        else:
            chosen = app.test_client()
            if role == "clerk":
                assert Person(chosen, "tanaka-jiro").sign_in().response.status_code == 302
            if role == "portal admin":  # the admin pages: departments, counters, staff, kinds
                assert Person(chosen, "watanabe-yui").sign_in().response.status_code == 302
        world = _build_world(app, owner, chosen)
        if role == "portal admin":
            # An admin's list pages link the same action for each of dozens of rows (every
            # definition version, every department): three of each stand for the rest.
            world.paths = {endpoint: paths[:3] for endpoint, paths in world.paths.items()}
        return chosen, world

    yield make


@pytest.mark.parametrize("role", ["anonymous", "resident", "clerk", "portal admin"])
def test_no_route_answers_5xx_to_hostile_values(app: Flask, world_for, role: str) -> None:
    client, world = world_for(role)
    failures: list[Failure] = []
    for rule, method in _rules(app):
        declared = access.rule_of(app.view_functions[rule.endpoint])
        if role == "portal admin" and not (declared and declared.staff):
            continue  # the other roles sweep the pages that are not staff's
        failures += _fuzz_route(app, client, world, rule, method)
    assert not failures, "\n".join(
        f"{f.status} {f.problem} {f.raised_in}: {f.request}" for f in failures
    )


def test_a_number_of_5000_digits_is_refused_beside_the_field(resident) -> None:
    person = resident("yamada-taro")
    url = person.walk(person.start("birth"), {}, until="/q-birth.weight").last.request.path
    form = forms(person.client.get(url).text)[-1]
    response = person.client.post(
        url, data={"csrf_token": form.fields["csrf_token"], "birth__weight": "9" * 5000}
    )
    page = person.shown_again(url, response)
    assert page.status_code == 422
    assert page.text.count("200から7,000までの数値を入力してください") == 2
