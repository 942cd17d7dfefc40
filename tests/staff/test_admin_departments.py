"""A municipality admin's departments and counters, and the portal admin's department kinds:
each form's bad input is refused beside its field (422, nothing typed lost), each change is
visible on the page and written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.bookings import services as bookings
from portal.bookings.models import CounterSettings
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.tenancy.models import Department, DepartmentKind, Municipality
from tests.factories import CaseFactory, MunicipalityFactory, RoleFactory
from tests.support.html import text
from tests.support.people import csrf_token, login_as


@dataclass
class Town:
    municipality_id: int
    code: str
    residents_id: int
    admin_id: int

    @property
    def departments(self) -> str:
        return f"/admin/municipalities/{self.municipality_id}/departments"

    def department(self, department_id: int | None = None, then: str = "") -> str:
        return f"{self.departments}/{department_id or self.residents_id}{then}"


@pytest.fixture
def town(app: Flask) -> Town:
    with app.app_context():
        municipality = MunicipalityFactory(departments=["resident_registration", "childcare"])
        admin = RoleFactory(admin=True, municipality=municipality).account
        db.session.commit()
        residents = municipality.department_of_kind("resident_registration")
        return Town(municipality.id, municipality.code, residents.id, admin.id)


def _admin(app: Flask, account_id: int, page: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    login_as(client, account_id)
    response = client.get(page)
    assert response.status_code == 200
    return client, csrf_token(response.text)


def _audited(app: Flask, chain: str, action: str) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.action == action)
        return list(db.session.scalars(query))


def test_an_admin_adds_a_department_for_a_kind_none_handles(app: Flask, town: Town) -> None:
    client, token = _admin(app, town.admin_id, town.departments)
    page = client.get(town.departments).text
    assert "保育" in page and "介護保険" in text(page)  # handled, and not handled yet
    response = client.post(
        town.departments,
        data={
            "csrf_token": token,
            "name_ja": "高齢介護課",
            "name_en": "",
            "kind": "long_term_care",
        },
    )
    assert response.status_code == 303
    shown = client.get(response.headers["Location"]).text
    assert "高齢介護課を追加しました。" in shown
    with app.app_context():
        municipality = db.session.get(Municipality, town.municipality_id)
        assert municipality.department_of_kind("long_term_care").name_ja == "高齢介護課"
    (entry,) = _audited(app, f"municipality:{town.code}", "department.added")
    assert entry.actor_id == town.admin_id and entry.details["kind"] == "long_term_care"


def test_a_department_without_a_name_or_of_a_handled_kind_is_refused(
    app: Flask, town: Town
) -> None:
    client, token = _admin(app, town.admin_id, town.departments)
    response = client.post(
        town.departments,
        data={"csrf_token": token, "name_ja": "", "name_en": "Typed Division", "kind": "nope"},
    )
    assert response.status_code == 422
    page = response.text
    assert 'href="#name_ja"' in page and 'href="#kind"' in page  # in the summary
    assert "課の名称を日本語で入力してください。" in page
    assert "担当する手続の種類を選んでください。" in page
    assert 'value="Typed Division"' in page  # nothing typed is lost
    response = client.post(
        town.departments,
        data={"csrf_token": token, "name_ja": "第二保育課", "name_en": "", "kind": "childcare"},
    )
    assert response.status_code == 422
    assert "がすでにこの種類を担当しています。" in response.text
    assert 'value="第二保育課"' in response.text
    hidden = client.post(
        town.departments,
        data={"csrf_token": token, "name_ja": "住民\x00課", "name_en": "", "kind": "education"},
    )
    assert hidden.status_code == 422  # a control character could hide what staff read
    assert "回答から制御文字を削除してください" in hidden.text


def test_an_admin_renames_a_department_and_gives_it_another_kind(app: Flask, town: Town) -> None:
    client, token = _admin(app, town.admin_id, town.department())
    data = {"csrf_token": token, "name_ja": "市民課", "name_en": "Citizens Division"}
    refused = client.post(town.department(), data={**data, "kind": "childcare"})
    assert refused.status_code == 422 and 'value="市民課"' in refused.text
    response = client.post(town.department(), data={**data, "kind": "education"})
    assert response.status_code == 303
    client.set_cookie("madoguchi_lang", "en")
    assert "Citizens Division" in client.get(town.department()).text
    with app.app_context():
        department = db.session.get(Department, town.residents_id)
        assert (department.name_ja, department.kind) == ("市民課", "education")
    (entry,) = _audited(app, f"municipality:{town.code}", "department.changed")
    assert entry.details["kind"] == ["resident_registration", "education"]


def test_an_admin_sets_the_counters_hours_slots_and_capacity(app: Flask, town: Town) -> None:
    client, token = _admin(app, town.admin_id, town.department())
    assert "この窓口はまだ予約を受け付けていません。" in client.get(town.department()).text
    hours = {f"hours_{day}": "08:30-12:00, 13:00-17:15" for day in range(5)}
    form = {"csrf_token": token, "slot_minutes": "20", "capacity": "2", "bookable_days": "14"}
    response = client.post(town.department(then="/counter"), data={**form, **hours})
    assert response.status_code == 303
    with app.app_context():
        settings = db.session.get(CounterSettings, town.residents_id)
        assert (settings.slot_minutes, settings.capacity, settings.bookable_days) == (20, 2, 14)
        assert [(h.opens, h.closes) for h in settings.hours if h.weekday == 0] == [
            (time(8, 30), time(12, 0)),
            (time(13, 0), time(17, 15)),
        ]
        assert not [h for h in settings.hours if h.weekday == 5]
    assert 'value="08:30-12:00, 13:00-17:15"' in client.get(town.department()).text
    (entry,) = _audited(app, f"municipality:{town.code}", "counter.configured")
    assert entry.details["hours"]["0"] == ["08:30-12:00", "13:00-17:15"]


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("hours_2", "17:00-09:00", "終了時刻は開始時刻より後にしてください。"),
        ("hours_2", "9時から5時", "時間帯は 08:30-17:15 のように書き"),
        ("hours_2", "08:00-12:00, 11:00-15:00", "重ならないように"),
        ("slot_minutes", "3", "5から240までの数を入力してください。"),
        ("capacity", "", "同時に応対できる人数を入力してください。"),
    ],
)
def test_a_counter_with_bad_hours_or_numbers_is_refused_beside_the_field(
    app: Flask, town: Town, field: str, typed: str, message: str
) -> None:
    client, token = _admin(app, town.admin_id, town.department())
    form = {"csrf_token": token, "slot_minutes": "30", "capacity": "3", "bookable_days": "30"}
    form |= {"hours_0": "09:00-17:00", field: typed}
    response = client.post(town.department(then="/counter"), data=form)
    assert response.status_code == 422
    assert message in response.text and f'href="#{field}"' in response.text
    assert f'id="{field}-error"' in response.text
    assert 'value="09:00-17:00"' in response.text  # the rest as typed
    with app.app_context():
        assert db.session.get(CounterSettings, town.residents_id) is None


def test_an_admin_closes_the_counter_on_a_day_and_opens_it_again(app: Flask, town: Town) -> None:
    with app.app_context():
        department = db.session.get(Department, town.residents_id)
        bookings.set_counter(department, hours={0: [(time(9), time(17))]})
        db.session.commit()
    client, token = _admin(app, town.admin_id, town.department())
    day = today_in_japan() + timedelta(days=10)
    past = today_in_japan() - timedelta(days=1)
    refused = client.post(
        town.department(then="/closed-days"),
        data={"csrf_token": token, "closed-day": past.isoformat(), "closed-reason": "選挙"},
    )
    assert refused.status_code == 422 and "今日以降の日を選んでください。" in refused.text
    assert 'value="選挙"' in refused.text
    unreadable = client.post(
        town.department(then="/closed-days"),
        data={"csrf_token": token, "closed-day": "someday", "closed-reason": ""},
    )
    assert unreadable.status_code == 422 and "日付を入力してください" in unreadable.text
    response = client.post(
        town.department(then="/closed-days"),
        data={"csrf_token": token, "closed-day": day.isoformat(), "closed-reason": "システム移行"},
    )
    assert response.status_code == 303
    assert "システム移行" in client.get(town.department()).text
    with app.app_context():
        settings = db.session.get(CounterSettings, town.residents_id)
        assert [c.day for c in settings.closed_dates] == [day]
    reopened = client.post(
        town.department(then="/closed-days/reopen"),
        data={"csrf_token": token, "day": day.isoformat()},
    )
    assert reopened.status_code == 303
    with app.app_context():
        assert db.session.get(CounterSettings, town.residents_id).closed_dates == []
    assert len(_audited(app, f"municipality:{town.code}", "counter.closed_day")) == 1
    assert len(_audited(app, f"municipality:{town.code}", "counter.reopened_day")) == 1


def test_a_department_with_requests_is_never_deleted(app: Flask, town: Town) -> None:
    with app.app_context():
        municipality = db.session.get(Municipality, town.municipality_id)
        CaseFactory(filed=True, municipality=municipality, forms=["mic.tenshutsu"])
        db.session.commit()
    client, token = _admin(app, town.admin_id, town.department(then="/delete"))
    response = client.post(town.department(then="/delete"), data={"csrf_token": token})
    assert response.status_code == 422
    assert "削除できません" in response.text
    with app.app_context():
        assert db.session.get(Department, town.residents_id) is not None
    assert _audited(app, f"municipality:{town.code}", "department.deleted") == []


def test_a_department_without_requests_is_deleted_when_confirmed(app: Flask, town: Town) -> None:
    with app.app_context():
        childcare = db.session.get(Municipality, town.municipality_id).department_of_kind(
            "childcare"
        )
        childcare_id = childcare.id
        RoleFactory(department=childcare)
        db.session.commit()
    page = town.department(childcare_id, "/delete")
    client, token = _admin(app, town.admin_id, page)
    response = client.post(page, data={"csrf_token": token})
    assert response.status_code == 303
    assert "を削除しました。" in client.get(response.headers["Location"]).text
    with app.app_context():
        assert db.session.get(Department, childcare_id) is None
    (entry,) = _audited(app, f"municipality:{town.code}", "department.deleted")
    assert entry.details["kind"] == "childcare"


def test_admins_of_another_municipality_and_clerks_get_404(app: Flask, town: Town) -> None:
    with app.app_context():
        stranger = RoleFactory(admin=True).account.id
        clerk = RoleFactory(department=db.session.get(Department, town.residents_id)).account.id
        db.session.commit()
    for account_id in (stranger, clerk):
        client = app.test_client()
        login_as(client, account_id)
        for url in (town.departments, town.department(), town.department(then="/delete")):
            assert client.get(url).status_code == 404, url
        assert client.get("/admin/department-kinds").status_code == 404
    assert app.test_client().get(town.departments).status_code == 302  # to sign in


def test_a_portal_admin_adds_a_kind_and_relabels_it(app: Flask) -> None:
    with app.app_context():
        admin = RoleFactory(portal_admin=True).account.id
        db.session.commit()
    client, token = _admin(app, admin, "/admin/department-kinds")
    bad = client.post(
        "/admin/department-kinds",
        data={"csrf_token": token, "key": "Tax Office", "label_ja": "", "label_en": "Tax"},
    )
    assert bad.status_code == 422
    assert "英小文字・数字・_ を2〜40文字で入力してください。" in bad.text
    assert "種類の名称を日本語で入力してください。" in bad.text
    assert 'value="Tax Office"' in bad.text and 'value="Tax"' in bad.text
    taken = client.post(
        "/admin/department-kinds",
        data={"csrf_token": token, "key": "childcare", "label_ja": "保育", "label_en": ""},
    )
    assert taken.status_code == 422 and "このキーの種類はすでにあります。" in taken.text
    added = client.post(
        "/admin/department-kinds",
        data={"csrf_token": token, "key": "tax", "label_ja": "税務", "label_en": ""},
    )
    assert added.status_code == 303
    assert "税務" in client.get("/admin/department-kinds").text
    relabelled = client.post(
        "/admin/department-kinds/tax",
        data={"csrf_token": token, "label_ja": "税務", "label_en": "Taxes"},
    )
    assert relabelled.status_code == 303
    with app.test_request_context():
        kind = db.session.get(DepartmentKind, "tax")
        assert kind.labels == {"ja": "税務", "en": "Taxes"}
    client.set_cookie("madoguchi_lang", "en")
    assert "Taxes" in client.get("/admin/department-kinds").text
    assert len(_audited(app, "portal", "department_kind.added")) == 1
    (entry,) = _audited(app, "portal", "department_kind.relabelled")
    assert entry.details["after"] == {"ja": "税務", "en": "Taxes"}
    empty = client.post("/admin/department-kinds/tax", data={"csrf_token": token})
    assert empty.status_code == 422
    assert client.get("/admin/department-kinds/nothing").status_code == 404


def test_the_checker_accepts_a_kind_an_admin_added(app: Flask, tmp_path) -> None:
    from tests.definitions import minimal
    from tests.definitions.test_checker import _form, problems_of

    data = minimal.definitions()
    _form(data).update(department_kind="tax")
    assert any("unknown department kind 'tax'" in p for p in problems_of(tmp_path, data))
    with app.app_context():
        db.session.add(DepartmentKind(key="tax", labels={"ja": "税務"}, position=90))
        db.session.commit()
        assert not any("department kind" in p for p in problems_of(tmp_path / "again", data))
