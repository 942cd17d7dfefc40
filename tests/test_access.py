"""Who may open which staff page: everything else answers 404, as if it did not exist."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import Account
from portal.devidp.subjects import subject_for
from portal.extensions import db
from portal.tenancy.kinds import DepartmentKind
from portal.tenancy.models import Department, Municipality
from tests.support.people import login_as

CHIYODA, YOKOHAMA = "131016", "141003"


def _department(code: str, kind: DepartmentKind) -> int:
    query = (
        select(Department.id)
        .join(Department.municipality)
        .where(Municipality.code == code, Department.kind == kind)
    )
    return db.session.scalar(query)


def _municipality(code: str) -> int:
    return db.session.scalar(select(Municipality.id).filter_by(code=code))


def _persona_account(app, persona: str) -> int:
    subject = subject_for(app.config["DEVIDP_KEY_DIR"], persona, app.config["OIDC_CLIENT_ID"])
    return accounts.account_for(app.config["DEVIDP_ISSUER"], subject).id


# (persona, path template, expected status)
RR, IP, CC = (
    DepartmentKind.RESIDENT_REGISTRATION,
    DepartmentKind.INSURANCE_PENSION,
    DepartmentKind.CHILDCARE,
)
CASES = [
    ("yamada-taro", "/staff/", None, 404),
    ("yamada-taro", "dept", (CHIYODA, RR), 404),
    ("yamada-taro", "muni", CHIYODA, 404),
    ("tanaka-jiro", "/staff/", None, 200),
    ("tanaka-jiro", "dept", (CHIYODA, RR), 200),
    ("tanaka-jiro", "dept", (CHIYODA, CC), 404),
    ("tanaka-jiro", "dept", (YOKOHAMA, RR), 404),
    ("tanaka-jiro", "muni", CHIYODA, 404),
    ("takahashi-misaki", "dept", (YOKOHAMA, IP), 200),
    ("takahashi-misaki", "dept", (CHIYODA, IP), 404),
    ("ito-ken", "dept", (CHIYODA, CC), 200),
    ("ito-ken", "muni", CHIYODA, 200),
    ("ito-ken", "muni", YOKOHAMA, 404),
    ("ito-ken", "dept", (YOKOHAMA, RR), 404),
    ("watanabe-yui", "muni", YOKOHAMA, 200),
    ("watanabe-yui", "dept", (YOKOHAMA, CC), 200),
]


@pytest.mark.parametrize(("persona", "route", "target", "status"), CASES)
def test_staff_pages_open_only_to_those_allowed(
    app, client, demo, persona: str, route: str, target, status: int
) -> None:
    with app.app_context():
        account_id = _persona_account(app, persona)
        db.session.commit()
        if route == "dept":
            path = f"/staff/departments/{_department(*target)}"
        elif route == "muni":
            path = f"/staff/municipalities/{_municipality(target)}"
        else:
            path = route
    login_as(client, account_id)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("path", ["/staff/", "/staff/departments/1", "/staff/municipalities/1"])
def test_staff_pages_send_strangers_to_sign_in(client, demo, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_unknown_ids_look_like_forbidden_ones(app, client, demo) -> None:
    with app.app_context():
        account_id = _persona_account(app, "watanabe-yui")
        db.session.commit()
    login_as(client, account_id)
    assert client.get("/staff/departments/999999").status_code == 404
    assert client.get("/staff/municipalities/999999").status_code == 404


def test_a_clerk_sees_their_own_queues_on_the_staff_home(app, client, demo) -> None:
    with app.app_context():
        account_id = _persona_account(app, "takahashi-misaki")
        db.session.commit()
    login_as(client, account_id)
    page = client.get("/staff/").text
    assert "保険年金課" in page and "戸籍課" in page
    assert "区民課" not in page  # Chiyoda's


def test_roles_are_never_taken_from_token_claims(app, person, demo) -> None:
    """A resident whose sign-in is valid is no staff member, whatever the token says."""
    resident = person("yamada-taro")
    resident.sign_in()
    assert resident.client.get("/staff/").status_code == 404
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(display_name="山田 太郎"))
        assert account.roles == []
