"""Who may open what, over every route of the portal, read from ``app.url_map``.

Every view declares its rule (``@access.requires(...)``). For each route, the outsiders of its
rule (a stranger, another resident, a clerk of another department or municipality, an admin
of another municipality, ...) get 404 or the sign-in page, never the page; its insiders get
through, which proves the URL names real objects. A new route fails here until it declares
a rule, and a new rule until this file says who is outside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule as UrlRule

from portal import access, create_app
from portal.accounts.models import Account
from portal.bookings import services as bookings
from portal.certificates import statuslist
from portal.definitions.models import DefinitionVersion, VersionOrigin, VersionState
from portal.definitions.sources import content_digest
from portal.extensions import db
from portal.japan.clock import utcnow
from portal.journey.models import Case, CaseStatus
from portal.notifications import services as notifications
from portal.notifications import tokens
from portal.tenancy.models import Municipality
from tests.factories import (
    AccountFactory,
    AttachmentFactory,
    CaseFactory,
    CertificateFactory,
    MessageFactory,
    MunicipalityFactory,
    RoleFactory,
)
from tests.support.people import csrf_token, login_as

IGNORED_METHODS = {"HEAD", "OPTIONS"}

#: For each rule: who must be refused (404, or sent to sign in) and who must get through.
OUTSIDERS: dict[access.Rule, set[str]] = {
    access.ANYONE: set(),
    access.SIGNED_IN: {"stranger"},
    access.FILER: {
        "stranger",
        "another resident",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
        "clerk of the department filed with",  # handles the request, not the resident's pages
        "admin of the municipality filed with",
        "portal admin",
    },
    access.REQUEST_FILER: {
        "stranger",
        "another resident",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
        "clerk of the department filed with",
        "admin of the municipality filed with",
        "portal admin",
    },
    access.DOCUMENT_READER: {
        "stranger",
        "another resident",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
    },
    access.STAFF: {"stranger", "another resident", "filer"},
    access.DEPARTMENT_STAFF: {
        "stranger",
        "another resident",
        "filer",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
    },
    access.DEPARTMENT_SUPERVISOR: {
        "stranger",
        "another resident",
        "filer",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
        "clerk of the department filed with",  # works the queue; assigning is a supervisor's
    },
    access.MUNICIPALITY_ADMIN: {
        "stranger",
        "another resident",
        "filer",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
        "clerk of the department filed with",
    },
    access.MESSAGE_READER: {
        "stranger",
        "another resident",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
        "clerk of the department filed with",  # who wrote it does not read the resident's mail
        "admin of the municipality filed with",
        "portal admin",
    },
    access.REQUEST_WORKER: {
        "stranger",
        "another resident",
        "filer",
        "clerk of another department",
        "clerk of another municipality",
        "admin of another municipality",
    },
}
INSIDERS: dict[access.Rule, set[str]] = {
    access.ANYONE: set(),
    access.SIGNED_IN: set(),  # starting a case needs a whole form: the journey tests do it
    access.FILER: {"filer"},
    access.REQUEST_FILER: {"filer"},
    access.DOCUMENT_READER: {
        "filer",
        "clerk of the department filed with",
        "admin of the municipality filed with",
        "portal admin",
    },
    access.STAFF: {"clerk of another department", "admin of another municipality", "portal admin"},
    access.DEPARTMENT_STAFF: {
        "clerk of the department filed with",
        "admin of the municipality filed with",
        "portal admin",
    },
    access.DEPARTMENT_SUPERVISOR: {"admin of the municipality filed with", "portal admin"},
    access.MUNICIPALITY_ADMIN: {"admin of the municipality filed with", "portal admin"},
    access.MESSAGE_READER: {"filer"},
    access.REQUEST_WORKER: {
        "clerk of the department filed with",
        "admin of the municipality filed with",
        "portal admin",
    },
}
#: The portal-wide pages (the KPIs of every municipality): its admins only.
OUTSIDERS[access.PORTAL_ADMIN] = OUTSIDERS[access.MUNICIPALITY_ADMIN] | {
    "admin of the municipality filed with"
}
INSIDERS[access.PORTAL_ADMIN] = {"portal admin"}
#: A certificate: its holder and the issuing department's clerks, as a document; its retry
#: for those clerks only, as the request's page.
OUTSIDERS[access.CERTIFICATE_READER] = OUTSIDERS[access.DOCUMENT_READER]
INSIDERS[access.CERTIFICATE_READER] = INSIDERS[access.DOCUMENT_READER]
OUTSIDERS[access.CERTIFICATE_ISSUER] = OUTSIDERS[access.REQUEST_WORKER]
INSIDERS[access.CERTIFICATE_ISSUER] = INSIDERS[access.REQUEST_WORKER]
#: The link that confirms the filer's address for notifications: theirs alone, like a message.
OUTSIDERS[access.EMAIL_CONFIRMER] = OUTSIDERS[access.MESSAGE_READER]
INSIDERS[access.EMAIL_CONFIRMER] = {"filer"}
#: A request of the filer's case (a correction, a withdrawal): the same people as the case.
OUTSIDERS[access.REQUEST_FILER] = OUTSIDERS[access.FILER]
INSIDERS[access.REQUEST_FILER] = INSIDERS[access.FILER]
#: Forms and workflows: every admin sees the list; a municipality's version is its admins'
#: and the portal's (a national one, changed only by a portal admin: tests/definitions).
OUTSIDERS[access.DEFINITIONS_ADMIN] = {
    "stranger",
    "another resident",
    "filer",
    "clerk of another department",
    "clerk of another municipality",
    "clerk of the department filed with",
}
INSIDERS[access.DEFINITIONS_ADMIN] = {
    "admin of the municipality filed with",
    "admin of another municipality",
    "portal admin",
}
OUTSIDERS[access.DEFINITION_VERSION_ADMIN] = OUTSIDERS[access.MUNICIPALITY_ADMIN]
INSIDERS[access.DEFINITION_VERSION_ADMIN] = INSIDERS[access.MUNICIPALITY_ADMIN]
#: Status lists are public: nobody is outside, a signed-out verifier and a resident get in.
OUTSIDERS[access.STATUS_LIST_READER] = set()
INSIDERS[access.STATUS_LIST_READER] = {"stranger", "filer"}
#: A department or a staff role of a municipality: its admins, as the municipality's pages.
for _rule in (access.MUNICIPALITY_DEPARTMENT_ADMIN, access.MUNICIPALITY_ROLE_ADMIN):
    OUTSIDERS[_rule] = OUTSIDERS[access.MUNICIPALITY_ADMIN]
    INSIDERS[_rule] = INSIDERS[access.MUNICIPALITY_ADMIN]
#: The whole portal's (department kinds, its own admins): its admins alone.
for _rule in (access.PORTAL_ADMIN, access.PORTAL_ROLE_ADMIN, access.JOBS_OPERATOR):
    OUTSIDERS[_rule] = OUTSIDERS[access.MUNICIPALITY_ADMIN] | {
        "admin of the municipality filed with"
    }
    INSIDERS[_rule] = {"portal admin"}
PERSONAS = sorted(set().union(*OUTSIDERS.values(), *INSIDERS.values()))
#: The queue's figures: a monitoring system's, with a token no person's session carries.
OUTSIDERS[access.METRICS_SCRAPER] = set(PERSONAS)
INSIDERS[access.METRICS_SCRAPER] = set()


@dataclass
class World:
    """A case filed with municipality A's residents division, with a document that division's
    form asks for, a draft beside it, and the people around them (account ids)."""

    people: dict[str, int | None]
    #: URL arguments for the filed case and for the draft.
    filed: dict[str, object]
    draft: dict[str, object]
    #: A filed death, whose funeral allowance is a follow-up (the follow-up route needs one).
    death: dict[str, object]

    def filed_for(self, endpoint: str) -> dict[str, object]:
        return self.death if endpoint in NEEDS_A_FOLLOW_UP else self.filed


#: Routes that act on a follow-up a filed case offers: a moving case offers none.
NEEDS_A_FOLLOW_UP = {"journey.follow_up"}


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        a, b = MunicipalityFactory(), MunicipalityFactory()
        residents = a.department_of_kind("resident_registration")
        filer = AccountFactory(  # with a confirmation link out for their address
            notification_email="filer@example.jp",
            notification_email_nonce="nonce-of-the-link-sent",
            notification_email_requested_at=utcnow(),
        )
        filed = CaseFactory(
            account=filer, filed=True, municipality=a, forms=["mic.tenshutsu", "mic.tennyu"]
        )
        bookings.set_counter(
            residents, hours={day: [(time(8, 30), time(17, 15))] for day in range(7)}
        )
        draft = CaseFactory(account=filer)
        death = CaseFactory(
            account=filer,
            workflow_key="death",
            answers={"deceased.birthdate": "1940-01-01", "death.date": "2026-11-30"},
            filed=True,
            municipality=a,
            forms=["moj.shibou"],
        )
        people = {
            "stranger": None,
            "filer": filer,
            "another resident": AccountFactory(),
            "clerk of the department filed with": RoleFactory(department=residents).account,
            "clerk of another department": RoleFactory(
                department=a.department_of_kind("childcare")
            ).account,
            "clerk of another municipality": RoleFactory(
                department=b.department_of_kind("resident_registration")
            ).account,
            "admin of the municipality filed with": RoleFactory(admin=True, municipality=a).account,
            "admin of another municipality": RoleFactory(admin=True, municipality=b).account,
            "portal admin": RoleFactory(portal_admin=True).account,
        }
        staff_arguments = {
            "department_id": residents.id,
            "municipality_id": a.id,
            "message_id": MessageFactory(account=filer, case=filed).id,
            "token": tokens.make(notifications.latest_link(filer)),
            # The move-in, whose counter visit is booked here.
            "request_id": filed.requests[1].id,
            "certificate_id": CertificateFactory(request=filed.requests[0]).id,
            "list_id": statuslist.allocate(a.id)[0],
            "version_id": _local_version(a).id,
            # A role of its own: an insider's POST revokes it.
            "role_id": RoleFactory(department=residents).id,
            "admin_role_id": people["portal admin"].roles[0].id,
        }
        world = World(
            people={name: account.id if account else None for name, account in people.items()},
            filed={
                "case_id": filed.id,
                "attachment_id": AttachmentFactory(case=filed).id,
                "request_id": filed.requests[0].id,
                **staff_arguments,
            },
            draft={
                "case_id": draft.id,
                "attachment_id": AttachmentFactory(case=draft).id,
                "request_id": filed.requests[0].id,  # not the draft's: it has none
                **staff_arguments,
            },
            death={"case_id": death.id},
        )
        db.session.commit()
    return world


def _local_version(municipality: Municipality) -> DefinitionVersion:
    """Municipality A's published override of a form."""
    content = {"id": "mic.tenshutsu", "version": 1}
    version = DefinitionVersion(
        kind="form",
        key="mic.tenshutsu",
        version=1,
        municipality_id=municipality.id,
        state=VersionState.PUBLISHED,
        origin=VersionOrigin.ADMIN,
        digest=content_digest(content),
        content=content,
        source_file="forms/mic/tenshutsu.yaml",
        published_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    return version


#: Values for URL arguments that name no object (objects come from the world).
PLAIN_ARGUMENTS = {"slug": "check", "form_key": "mhlw.sousaihi", "kind_key": "childcare"}


def _routes(app: Flask) -> Iterator[tuple[UrlRule, str, access.Rule]]:
    for url_rule in app.url_map.iter_rules():
        rule = access.rule_of(app.view_functions[url_rule.endpoint])
        assert rule is not None, f"{url_rule.endpoint} declares no access rule"
        for method in sorted((url_rule.methods or set()) - IGNORED_METHODS):
            yield url_rule, method, rule


def _path(app: Flask, url_rule: UrlRule, objects: dict[str, object]) -> str:
    values = {**PLAIN_ARGUMENTS, **objects}
    missing = set(url_rule.arguments) - set(values)
    assert not missing, f"{url_rule.endpoint}: give this test a value for {sorted(missing)}"
    adapter = app.url_map.bind("localhost")
    return adapter.build(url_rule.endpoint, {k: values[k] for k in url_rule.arguments})


def _client(app: Flask, account_id: int | None) -> tuple[FlaskClient, str]:
    client = app.test_client()
    if account_id is not None:
        login_as(client, account_id)
    return client, csrf_token(client.get("/").text)


def _call(client: FlaskClient, method: str, path: str, token: str) -> tuple[int, str]:
    response = client.open(
        path, method=method, data={"csrf_token": token} if method == "POST" else None
    )
    response.close()
    return response.status_code, response.headers.get("Location", "")


def test_every_route_declares_who_may_call_it(app: Flask) -> None:
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if access.rule_of(app.view_functions[rule.endpoint]) is None
    ]
    assert undeclared == []
    used = {rule for _url, _method, rule in _routes(app)}
    assert used <= OUTSIDERS.keys() and used <= INSIDERS.keys(), "say who is outside a new rule"


def test_each_route_guards_exactly_the_objects_its_url_names(app: Flask) -> None:
    """A route with ``case_id`` in its URL must declare a rule that checks the case, and a
    rule that checks a case belongs on a route that names one; a ``token`` names an object
    too (a confirmation link's)."""
    for url_rule, _method, rule in _routes(app):
        ids = {n for n in url_rule.arguments if n.endswith("_id") or n == "token"}
        assert ids == rule.guards, (
            f"{url_rule.endpoint}: URL names {ids}, rule guards {rule.guards}"
        )


def test_a_view_without_a_rule_is_never_served() -> None:
    undeclared = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    undeclared.add_url_rule("/undeclared", "undeclared", lambda: "what nobody allowed")
    assert undeclared.test_client().get("/undeclared").status_code == 404


@pytest.mark.parametrize("persona", PERSONAS)
def test_outsiders_get_404_or_sign_in_on_every_route(
    app: Flask, world: World, persona: str
) -> None:
    client, token = _client(app, world.people[persona])
    refused: list[str] = []
    for url_rule, method, rule in _routes(app):
        if persona not in OUTSIDERS[rule]:
            continue
        for objects in (world.filed_for(url_rule.endpoint), world.draft):
            path = _path(app, url_rule, objects)
            status, location = _call(client, method, path, token)
            signed_out = persona == "stranger"
            if not (
                status == 404
                or (signed_out and status == 302 and location.startswith("/auth/login"))
            ):
                refused.append(f"{method} {path}: {status} {location}")
    assert refused == [], f"{persona} was let through"
    with app.app_context():  # and nothing was changed on the way
        assert db.session.get(Case, world.draft["case_id"]).status is CaseStatus.DRAFT
        assert db.session.get(Case, world.filed["case_id"]).status is CaseStatus.SUBMITTED


@pytest.mark.parametrize("persona", PERSONAS)
def test_insiders_get_through_on_every_route(app: Flask, world: World, persona: str) -> None:
    """What shows the outsiders' 404s are refusals, not URLs that name nothing."""
    client, token = _client(app, world.people[persona])
    for url_rule, method, rule in _routes(app):
        if persona in INSIDERS[rule]:
            path = _path(app, url_rule, world.filed_for(url_rule.endpoint))
            status, _location = _call(client, method, path, token)
            # A POST with only its token may be refused as incomplete (422) or as changing what
            # no longer may change (409: a published version), past the guard.
            through = (200, 302, 303, 409, 422) if method == "POST" else (200, 302)
            assert status in through, f"{persona}: {method} {path} answered {status}"


def test_unknown_ids_look_like_forbidden_ones(app: Flask, world: World) -> None:
    for persona in ("filer", "portal admin"):
        client, token = _client(app, world.people[persona])
        for url_rule, method, rule in _routes(app):
            for name in rule.guards:
                path = _path(app, url_rule, {**world.filed, name: 999999})
                assert _call(client, method, path, token)[0] == 404, f"{persona}: {method} {path}"


def test_a_clerk_sees_their_own_queues_on_the_staff_home(app, client, demo) -> None:
    with app.app_context():
        account_id = _persona_account(app, "takahashi-misaki")
        db.session.commit()
    login_as(client, account_id)
    page = client.get("/staff/").text
    assert "保険年金課" in page and "戸籍課" in page
    assert "区民課" not in page  # Chiyoda's


def test_a_demo_supervisor_works_the_residents_and_child_support_queues(app, client, demo) -> None:
    with app.app_context():
        account_id = _persona_account(app, "nakamura-yoko")
        db.session.commit()
    login_as(client, account_id)
    page = client.get("/staff/").text
    assert "区民課" in page and "子ども支援課" in page
    assert "保険年金課" not in page and "戸籍課" not in page


def test_roles_are_never_taken_from_token_claims(app, person, demo) -> None:
    """A resident whose sign-in is valid is no staff member, whatever the token says."""
    resident = person("yamada-taro")
    resident.sign_in()
    assert resident.client.get("/staff/").status_code == 404
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(display_name="山田 太郎"))
        assert account.roles == []


def _persona_account(app: Flask, persona: str) -> int:
    from portal.accounts import services as accounts
    from portal.devidp.subjects import subject_for

    subject = subject_for(app.config["DEVIDP_KEY_DIR"], persona, app.config["OIDC_CLIENT_ID"])
    return accounts.account_for(app.config["DEVIDP_ISSUER"], subject).id
