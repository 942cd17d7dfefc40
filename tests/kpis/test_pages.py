"""The KPI pages through the test client: who may open them (everyone else 404, or sign-in
when signed out), the figures on the page and in its CSV, the chart as SVG, the period
selector's refusals, and the public open data parsed back."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.japan.clock import as_of
from portal.tenancy.models import Municipality
from tests.factories import AccountFactory, CaseFactory, RoleFactory
from tests.kpis.seed import NOW, seed
from tests.support.html import text
from tests.support.people import csrf_token, login_as

SVG = "{http://www.w3.org/2000/svg}"
OCTOBER = "start=2026-10&end=2026-10"


@pytest.fixture
def world(app: Flask, definitions: None) -> dict[str, int]:
    """The seeded data, and one account of each kind around municipality A."""
    with app.app_context():
        seeded = seed()
        a = db.session.get(Municipality, seeded.a_id)
        b = db.session.get(Municipality, seeded.b_id)
        residents = a.department_of_kind("resident_registration")
        people = {
            "resident": CaseFactory(filed=True, municipality=a, forms=[]).account,
            "clerk of A": RoleFactory(department=residents).account,
            "supervisor of A": RoleFactory(department=residents, supervisor=True).account,
            "admin of A": RoleFactory(admin=True, municipality=a).account,
            "admin of B": RoleFactory(admin=True, municipality=b).account,
            "portal admin": RoleFactory(portal_admin=True).account,
            "another resident": AccountFactory(),
        }
        db.session.commit()
        ids = {name: account.id for name, account in people.items()}
    return {**ids, "a": seeded.a_id, "b": seeded.b_id}


def _as(app: Flask, world: dict[str, int], who: str | None) -> FlaskClient:
    client = app.test_client()
    if who is not None:
        login_as(client, world[who])
    return client


def _urls(world: dict[str, int]) -> dict[str, str]:
    a = world["a"]
    return {
        "portal": "/admin/kpis",
        "portal csv": "/admin/kpis.csv",
        "municipality": f"/admin/municipalities/{a}/kpis",
        "municipality csv": f"/admin/municipalities/{a}/kpis.csv",
    }


#: Who gets in to each page; everyone else is refused.
ALLOWED = {
    "portal": {"portal admin"},
    "portal csv": {"portal admin"},
    "municipality": {"admin of A", "portal admin"},
    "municipality csv": {"admin of A", "portal admin"},
}
PEOPLE = [
    None,
    "resident",
    "another resident",
    "clerk of A",
    "supervisor of A",
    "admin of A",
    "admin of B",
    "portal admin",
]


@pytest.mark.parametrize("who", PEOPLE)
def test_who_may_open_the_dashboards(app: Flask, world: dict[str, int], who: str | None) -> None:
    client = _as(app, world, who)
    for page, url in _urls(world).items():
        response = client.get(url)
        if who in ALLOWED[page]:
            assert response.status_code == 200, (who, url)
        elif who is None:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/auth/login")
        else:
            assert response.status_code == 404, (who, url)
        for public in ("/open-data/kpis.json", "/open-data/kpis.csv"):
            assert client.get(public).status_code == 200


def test_an_unknown_municipality_is_404_even_for_the_portal_admin(app, world) -> None:
    client = _as(app, world, "portal admin")
    assert client.get("/admin/municipalities/999999/kpis").status_code == 404
    assert client.get("/admin/municipalities/999999/kpis.csv").status_code == 404


def _table(html: str, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, each cell's text."""
    pattern = r"<table[^>]*>\s*<caption[^>]*>" + re.escape(caption) + r"</caption>(.*?)</table>"
    found = re.search(pattern, html, re.S)
    assert found, caption
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    ]


def test_a_municipality_admin_reads_the_figures_in_japanese(app, world) -> None:
    client = _as(app, world, "admin of A")
    with as_of(NOW):
        page = client.get(f"/admin/municipalities/{world['a']}/kpis?{OCTOBER}").text
    events = _table(page, "期間中に開始された手続き(ライフイベント別)")
    assert events[0] == ["手続の種類", "開始", "送信", "放置", "作成中", "オンライン完了率"]
    moving = next(row for row in events if row[1:5] == ["7", "5", "1", "1"])
    assert moving[5] == "71.4 %"
    forms = _table(page, "期間中にオンラインで申請された件数(様式別)")
    assert forms[1][2:] == ["5", "4", "1", "3.0", "8.2", "60.0"]
    departments = _table(page, "担当課別、2026-12-02時点(期間にかかわらず)")
    assert sorted(row[1:] for row in departments[1:])[-1] == ["3", "1"]
    assert "30日間変更されていない" in page  # the definition of abandoned, on the page


def test_the_chart_is_svg_with_a_title_and_the_tables_figures(app, world) -> None:
    client = _as(app, world, "admin of A")
    with as_of(NOW):
        page = client.get(f"/admin/municipalities/{world['a']}/kpis?{OCTOBER}").text
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "ライフイベント別の開始・送信・放置された手続き"
    assert "2026-10" in svg.find(f"{SVG}desc").text
    titled = [rect.find(f"{SVG}title") for rect in svg.iter(f"{SVG}rect")]
    bars = [title.text for title in titled if title is not None]
    assert {"開始: 7", "送信: 5", "放置: 1"} <= set(bars)
    assert "<script" not in page


def test_the_dashboard_csv_has_the_same_figures_with_a_bom(app, world) -> None:
    client = _as(app, world, "admin of A")
    with as_of(NOW):
        response = client.get(f"/admin/municipalities/{world['a']}/kpis.csv?{OCTOBER}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["期間", "表", "行", "指標", "値"]
    figures = {(row[1], row[3]): row[4] for row in rows[1:] if "転出届" in row[2]}
    assert figures[("様式", "申請数")] == "5"
    assert figures[("様式", "決定までの日数(中央値)")] == "3.0"
    assert figures[("様式", "決定までの日数(90パーセンタイル)")] == "8.2"
    assert figures[("様式", "申請100件あたりの補正依頼")] == "60.0"
    assert all(row[0] == "2026-10/2026-10" for row in rows[1:] if row[1] != "担当課(本日時点)")


def test_the_portal_admin_narrows_to_one_municipality(app, world) -> None:
    client = _as(app, world, "portal admin")
    with as_of(NOW):
        whole = client.get(f"/admin/kpis?{OCTOBER}").text
        only_a = client.get(f"/admin/kpis?{OCTOBER}&municipality={world['a']}").text
        csv_a = client.get(f"/admin/kpis.csv?{OCTOBER}&municipality={world['a']}")
    caption = "期間中に開始された手続き(ライフイベント別)"
    assert any(row[1:4] == ["9", "6", "1"] for row in _table(whole, caption))
    assert any(row[1:4] == ["7", "5", "1"] for row in _table(only_a, caption))
    assert f"municipality={world['a']}" in only_a  # the CSV link keeps the choice
    assert "7" in [row[4] for row in csv.reader(io.StringIO(csv_a.data.decode("utf-8-sig")))]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("start=2026-13&end=2026-10", "start", "月は年と月で入力してください"),
        ("start=abc&end=" + "9" * 5000, "end", "月は年と月で入力してください"),
        ("start=2026-10&end=2026-09", "end", "終了月は開始月より前にできません"),
        ("start=2020-01&end=2026-10", "end", "期間は最長36か月です"),
        ("municipality=-1", "municipality", "一覧から市区町村を選んでください"),
        ("municipality=2147483648", "municipality", "一覧から市区町村を選んでください"),
    ],
)
def test_a_bad_period_is_refused_beside_its_field(app, world, query, field, message) -> None:
    client = _as(app, world, "portal admin")
    for url in (f"/admin/kpis?{query}", f"/admin/kpis.csv?{query}"):
        response = client.get(url)
        assert response.status_code == 422, url
        page = response.text
        assert re.search(rf'id="{field}-error">.*?{message}', page, re.S), url
        assert f'href="#{field}"' in page  # and in the error summary
        typed = dict(p.split("=", 1) for p in query.split("&"))[field]
        if field != "municipality":
            assert f'value="{typed}"' in page  # what was typed is kept


def test_months_may_be_typed_with_slashes_or_full_width_digits(app, world) -> None:
    client = _as(app, world, "admin of A")
    with as_of(NOW):
        url = f"/admin/municipalities/{world['a']}/kpis?start=２０２６/１０&end=2026/10"
        response = client.get(url)
    assert response.status_code == 200
    assert "2026-10から2026-10まで" in text(response.text)


def test_open_data_is_public_json_and_csv_without_personal_data(app, world) -> None:
    client = app.test_client()
    with as_of(NOW):
        document = client.get("/open-data/kpis.json")
        table = client.get("/open-data/kpis.csv")
    assert document.headers["Cache-Control"].startswith("public, max-age=")
    data = json.loads(document.data)
    assert data["suppressed_below"] == 10
    assert (data["period"]["first_month"], data["period"]["last_month"]) == ("2024-12", "2026-11")
    rows = data["rows"]
    assert {tuple(sorted(row)) for row in rows} == {tuple(sorted(data["columns"]))}
    # A's five October cases: every count under ten, so all suppressed.
    with app.app_context():
        a_code = db.session.get(Municipality, world["a"]).code
    (october,) = [r for r in rows if r["municipality_code"] == a_code and r["month"] == "2026-10"]
    assert october["cases_submitted"] is None and "cases_submitted" in october["suppressed"]
    assert not any("total" in key for key in data["columns"])
    assert table.data.startswith("\ufeff".encode())
    parsed = list(csv.DictReader(io.StringIO(table.data.decode("utf-8-sig"))))
    assert len(parsed) == len(rows)
    (same,) = [r for r in parsed if r["municipality_code"] == a_code and r["month"] == "2026-10"]
    assert same["cases_submitted"] == "" and same["life_event"] == "moving"


def test_the_staff_home_links_admins_to_their_dashboards(app, world) -> None:
    admin = _as(app, world, "admin of A").get("/staff/").text
    assert f"/admin/municipalities/{world['a']}/kpis" in admin
    assert '/admin/kpis"' not in admin
    portal = _as(app, world, "portal admin").get("/staff/").text
    assert 'href="/admin/kpis"' in portal
    clerk = _as(app, world, "clerk of A").get("/staff/").text
    assert "/kpis" not in clerk


def test_an_admin_reading_english_gets_the_page_and_the_csv_header_in_english(app, world) -> None:
    client = _as(app, world, "admin of A")
    page = client.get("/staff/")
    client.post(
        "/language",
        data={"language": "en", "next": "/staff/", "csrf_token": csrf_token(page.text)},
    )
    with as_of(NOW):
        html = client.get(f"/admin/municipalities/{world['a']}/kpis?{OCTOBER}").text
        response = client.get(f"/admin/municipalities/{world['a']}/kpis.csv?{OCTOBER}")
    events = _table(html, "Cases started in the period, by life event")
    assert any(row[1:6] == ["7", "5", "1", "1", "71.4 %"] for row in events)
    assert "nobody has changed it for 30 days" in html
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header == ["Period", "Table", "Row", "Figure", "Value"]
