"""Granting and revoking staff roles from the admin pages: by the staff provider's subject,
audited (who, whom, what, when), never the last admin nor one's own admin role, and two
admins at once on PostgreSQL take turns instead of breaking a constraint."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Account, Role, StaffRole
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.tenancy.models import Municipality
from tests.factories import AccountFactory, MunicipalityFactory, RoleFactory
from tests.support.people import csrf_token, login_as

NOT_SIGNED_IN_YET = "（まだログインしていません）"


@dataclass
class Office:
    municipality_id: int
    code: str
    residents_id: int
    childcare_id: int
    admin_id: int
    admin_role_id: int

    @property
    def staff(self) -> str:
        return f"/admin/municipalities/{self.municipality_id}/staff"

    def revoke(self, role_id: int) -> str:
        return f"{self.staff}/roles/{role_id}/revoke"


@pytest.fixture
def office(app: Flask) -> Office:
    with app.app_context():
        municipality = MunicipalityFactory(departments=["resident_registration", "childcare"])
        role = RoleFactory(admin=True, municipality=municipality)
        db.session.commit()
        return Office(
            municipality.id,
            municipality.code,
            municipality.department_of_kind("resident_registration").id,
            municipality.department_of_kind("childcare").id,
            role.account_id,
            role.id,
        )


def _municipality(office: Office) -> Municipality:
    municipality = db.session.get(Municipality, office.municipality_id)
    assert municipality is not None
    return municipality


def _signed_in(app: Flask, account_id: int, page: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    login_as(client, account_id)
    response = client.get(page)
    assert response.status_code == 200, page
    return client, csrf_token(response.text)


def _roles_of(app: Flask, issuer: str, subject: str) -> list[tuple[str, int | None]]:
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(issuer=issuer, subject=subject))
        if account is None:
            return []
        return sorted((r.role.value, r.department_id) for r in account.roles)


def _entries(app: Flask, chain: str, action: str) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.action == action)
        return list(db.session.scalars(query.order_by(AuditEntry.seq)))


def test_an_admin_grants_a_clerk_role_to_someone_not_signed_in_yet(
    app: Flask, office: Office, provider
) -> None:
    client, token = _signed_in(app, office.admin_id, office.staff)
    response = client.post(
        office.staff,
        data={
            "csrf_token": token,
            "subject": "staff-subject-0001",
            "role": "supervisor",
            "departments": [str(office.residents_id), str(office.childcare_id)],
        },
    )
    assert response.status_code == 303
    page = client.get(office.staff).text
    assert "staff-subject-0001" in page and NOT_SIGNED_IN_YET in page
    assert _roles_of(app, provider.issuer, "staff-subject-0001") == sorted(
        [("supervisor", office.childcare_id), ("supervisor", office.residents_id)]
    )
    entries = _entries(app, f"municipality:{office.code}", "staff_role.granted")
    assert [(e.actor_id, e.details["role"], e.details["subject"]) for e in entries] == [
        (office.admin_id, "supervisor", "staff-subject-0001")
    ] * 2
    assert {e.details["department"] for e in entries} == {"resident_registration", "childcare"}
    assert all(e.at is not None and e.subject.startswith("account:") for e in entries)
    again = client.post(
        office.staff,
        data={
            "csrf_token": token,
            "subject": "staff-subject-0001",
            "role": "supervisor",
            "departments": [str(office.residents_id)],
        },
    )
    assert again.status_code == 303  # held already: nothing new, nothing audited again
    assert len(_entries(app, f"municipality:{office.code}", "staff_role.granted")) == 2


def test_a_grant_without_a_subject_or_a_department_is_refused(app: Flask, office: Office) -> None:
    client, token = _signed_in(app, office.admin_id, office.staff)
    response = client.post(office.staff, data={"csrf_token": token, "subject": "", "role": "clerk"})
    assert response.status_code == 422
    assert "職員IDを入力してください。" in response.text
    assert 'href="#subject"' in response.text
    assert "担当者・監督者には、課を1つ以上選んでください。" in response.text
    typed = client.post(
        office.staff,
        data={"csrf_token": token, "subject": "kept-subject", "role": "clerk", "departments": "9"},
    )
    assert typed.status_code == 422
    assert 'value="kept-subject"' in typed.text and "一覧から課を選んでください。" in typed.text
    no_role = client.post(
        office.staff, data={"csrf_token": token, "subject": "kept-subject", "role": "king"}
    )
    assert no_role.status_code == 422 and "権限を選んでください。" in no_role.text


def test_a_clerk_of_another_municipality_is_refused_beside_the_role(
    app: Flask, office: Office, provider
) -> None:
    with app.app_context():
        elsewhere = AccountFactory(issuer=provider.issuer, subject="busy-clerk")
        RoleFactory(account=elsewhere)
        db.session.commit()
    client, token = _signed_in(app, office.admin_id, office.staff)
    response = client.post(
        office.staff,
        data={
            "csrf_token": token,
            "subject": "busy-clerk",
            "role": "clerk",
            "departments": str(office.residents_id),
        },
    )
    assert response.status_code == 422
    assert "担当者は1つの自治体にしか所属できません。" in response.text


def test_an_admin_revokes_a_clerk_and_the_audit_log_says_so(app: Flask, office: Office) -> None:
    with app.app_context():
        municipality = db.session.get(Municipality, office.municipality_id)
        clerk = RoleFactory(department=municipality.department_of_kind("childcare"))
        db.session.commit()
        clerk_id, clerk_account = clerk.id, clerk.account_id
    client, token = _signed_in(app, office.admin_id, office.revoke(clerk_id))
    response = client.post(office.revoke(clerk_id), data={"csrf_token": token})
    assert response.status_code == 303
    assert "を取り消しました。" in client.get(office.staff).text
    with app.app_context():
        assert db.session.get(StaffRole, clerk_id) is None
    (entry,) = _entries(app, f"municipality:{office.code}", "staff_role.revoked")
    assert (entry.actor_id, entry.subject, entry.details["role"]) == (
        office.admin_id,
        f"account:{clerk_account}",
        "clerk",
    )
    # A second tab revoking it again finds nothing to revoke: the 404 of a role not there.
    assert client.post(office.revoke(clerk_id), data={"csrf_token": token}).status_code == 404


def test_nobody_revokes_their_own_admin_role_or_the_last_admin(app: Flask, office: Office) -> None:
    client, token = _signed_in(app, office.admin_id, office.revoke(office.admin_role_id))
    own = client.post(office.revoke(office.admin_role_id), data={"csrf_token": token})
    assert own.status_code == 422
    assert "自分の管理者権限は取り消せません。" in own.text
    with app.app_context():
        portal_admin = RoleFactory(portal_admin=True).account_id
        db.session.commit()
    client, token = _signed_in(app, portal_admin, office.revoke(office.admin_role_id))
    last = client.post(office.revoke(office.admin_role_id), data={"csrf_token": token})
    assert last.status_code == 422
    assert "最後の管理者です。" in last.text
    with app.app_context():
        assert db.session.get(StaffRole, office.admin_role_id) is not None
    assert _entries(app, f"municipality:{office.code}", "staff_role.revoked") == []


def test_a_portal_admin_makes_another_and_cannot_revoke_themself(app: Flask, provider) -> None:
    with app.app_context():
        role = RoleFactory(portal_admin=True)
        db.session.commit()
        admin_id, own_role = role.account_id, role.id
    client, token = _signed_in(app, admin_id, "/admin/portal-admins")
    assert client.post("/admin/portal-admins", data={"csrf_token": token}).status_code == 422
    response = client.post(
        "/admin/portal-admins", data={"csrf_token": token, "subject": "second-admin"}
    )
    assert response.status_code == 303
    assert _roles_of(app, provider.issuer, "second-admin") == [("admin", None)]
    assert len(_entries(app, "portal", "staff_role.granted")) == 1
    own = client.post(f"/admin/portal-admins/{own_role}/revoke", data={"csrf_token": token})
    assert own.status_code == 422
    with app.app_context():
        municipal = RoleFactory(admin=True).id
        db.session.commit()
    # A municipality's admin role is not a portal admin's: not found here.
    assert client.get(f"/admin/portal-admins/{municipal}/revoke").status_code == 404


def test_a_municipality_admin_does_not_reach_the_portal_admins(app: Flask, office: Office) -> None:
    client = app.test_client()
    login_as(client, office.admin_id)
    assert client.get("/admin/portal-admins").status_code == 404
    home = client.get("/staff/").text
    assert office.staff in home and "/admin/department-kinds" not in home


# Two admins at once, on PostgreSQL ------------------------------------------------------


def _at_once(posts: list[tuple[FlaskClient, str, dict[str, object]]]) -> list[int]:
    barrier = threading.Barrier(len(posts))
    answers = [0] * len(posts)

    def send(index: int) -> None:
        client, url, data = posts[index]
        barrier.wait(timeout=10)
        answers[index] = client.post(url, data=data).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.postgresql
def test_two_admins_revoking_each_other_at_once_leave_one_admin(app: Flask, office: Office) -> None:
    with app.app_context():
        second = RoleFactory(admin=True, municipality=_municipality(office))
        db.session.commit()
        second_admin, second_role = second.account_id, second.id
    first, first_token = _signed_in(app, office.admin_id, office.revoke(second_role))
    other, other_token = _signed_in(app, second_admin, office.revoke(office.admin_role_id))
    answers = _at_once(
        [
            (first, office.revoke(second_role), {"csrf_token": first_token}),
            (other, office.revoke(office.admin_role_id), {"csrf_token": other_token}),
        ]
    )
    assert sorted(answers) == [303, 422], answers
    with app.app_context():
        admins = db.session.scalar(
            select(func.count(StaffRole.id)).where(
                StaffRole.role == Role.ADMIN, StaffRole.municipality_id == office.municipality_id
            )
        )
        assert admins == 1
    assert len(_entries(app, f"municipality:{office.code}", "staff_role.revoked")) == 1


@pytest.mark.postgresql
def test_two_admins_granting_one_role_at_once_make_one(
    app: Flask, office: Office, provider
) -> None:
    with app.app_context():
        second_admin = RoleFactory(admin=True, municipality=_municipality(office)).account_id
        AccountFactory(issuer=provider.issuer, subject="new-colleague")
        db.session.commit()
    posts = []
    for admin in (office.admin_id, second_admin):
        for role in ("clerk", "admin"):
            client, token = _signed_in(app, admin, office.staff)
            data = {"csrf_token": token, "subject": "new-colleague", "role": role}
            posts.append((client, office.staff, {**data, "departments": str(office.residents_id)}))
    answers = _at_once(posts)
    assert set(answers) == {303}, answers
    assert _roles_of(app, provider.issuer, "new-colleague") == [
        ("admin", None),
        ("clerk", office.residents_id),
    ]
    assert len(_entries(app, f"municipality:{office.code}", "staff_role.granted")) == 2


@pytest.mark.postgresql
def test_one_role_revoked_twice_at_once_is_revoked_once(app: Flask, office: Office) -> None:
    with app.app_context():
        second_admin = RoleFactory(admin=True, municipality=_municipality(office)).account_id
        clerk = RoleFactory(department=_municipality(office).departments[0])
        db.session.commit()
        clerk_role = clerk.id
    tabs = [_signed_in(app, a, office.revoke(clerk_role)) for a in (office.admin_id, second_admin)]
    answers = _at_once([(c, office.revoke(clerk_role), {"csrf_token": t}) for c, t in tabs])
    assert all(a in (303, 404) for a in answers) and 303 in answers, answers
    assert len(_entries(app, f"municipality:{office.code}", "staff_role.revoked")) == 1
