"""A resident walking a life event through the test client, page by page, as a browser would.

Every page is read from its HTML: which answers it asks (so a fact asked twice is caught),
where its form posts. The answers typed are the test's, or for anything the test leaves
open, a valid answer for the item's type.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.definitions.model import Item
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import Case
from tests.support.documents import PDF
from tests.support.html import Form, post_form
from tests.support.people import csrf_token

CHIYODA_ADDRESS = {"postal_code": "100-0013", "street": "1-3-1", "building": ""}
BUTTONS = {"lookup", "add", "remove", "csrf_token"}


@dataclass
class Walk:
    """What the resident saw: each page's URL and the answers it asked for."""

    pages: list[tuple[str, list[str]]] = field(default_factory=list)
    last: TestResponse | None = None
    #: Notifications shown on the way (e.g. a corrected answer), in order.
    notices: list[str] = field(default_factory=list)

    @property
    def asked(self) -> list[str]:
        return [key for _url, keys in self.pages for key in keys]

    def asked_twice(self) -> list[str]:
        seen, twice = set(), []
        for key in self.asked:
            if key in seen:
                twice.append(key)
            seen.add(key)
        return twice


class Resident:
    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.case_id: int | None = None
        self.today = today_in_japan()

    # starting ---------------------------------------------------------------------------

    def start(self, workflow: str) -> str:
        """Press "Start" for the life event on the dashboard; returns the first page's URL."""
        home = self.client.get("/")
        assert home.status_code == 200
        response = self.client.post(
            "/cases/", data={"csrf_token": csrf_token(home.text), "workflow": workflow}
        )
        assert response.status_code == 302, response.status_code
        resumed = self.client.get(response.headers["Location"])
        assert resumed.status_code == 302
        self.case_id = int(re.search(r"/cases/(\d+)", response.headers["Location"]).group(1))
        return resumed.headers["Location"]

    def case(self) -> Case:
        with self.app.app_context():
            case = db.session.get(Case, self.case_id)
            assert case is not None
            db.session.expunge(case)
            return case

    def items(self) -> dict[str, Item]:
        """Every item the case's definitions can ask, by key."""
        with self.app.app_context():
            snapshot = db.session.get(Case, self.case_id).definitions
            items = dict(snapshot.vocabulary)
            for form in snapshot.forms.values():
                for form_field in form.fields():
                    items[form_field.key] = form_field.item
            for question in snapshot.workflow.questions:
                items[question.key] = question.item
            return items

    # walking ----------------------------------------------------------------------------

    def walk(self, url: str, answers: Mapping[str, Any], *, until: str = "/check") -> Walk:
        """Answer page after page until a URL ending with ``until``."""
        walk = Walk()
        items = self.items()
        for _step in range(80):
            if url.split("?")[0].endswith(until):
                walk.last = self.client.get(url)
                return walk
            page = self.client.get(url)
            assert page.status_code == 200, (url, page.status_code)
            walk.notices.extend(notices(page.text))
            form = self.add_group_entries(url, post_form(page.text), items, answers)
            keys = asked_keys(form)
            walk.pages.append((url, keys))
            data = self.fill(form, keys, items, answers)
            response = self.client.post(url, data=data, content_type="multipart/form-data")
            assert response.status_code == 302, (url, response.status_code, errors(response.text))
            url = response.headers["Location"]
        raise AssertionError("the journey did not end")

    def add_group_entries(
        self, url: str, form: Form, items: Mapping[str, Item], answers: Mapping[str, Any]
    ) -> Form:
        """Press "Add" until each group has as many entries as the test's answer."""
        for group_name in form.choices.get("add", []):
            key = group_name.replace("__", ".")
            wanted = answers.get(key, [])
            while (shown := entries_shown(form, group_name)) < len(wanted):
                data = {"csrf_token": form.fields.get("csrf_token", ""), "add": group_name}
                entries = [self.complete_entry(items[key], e) for e in wanted[:shown]]
                data.update(encode(group_name, items[key], entries))
                form = post_form(self.shown_again(url, self.client.post(url, data=data)).text)
        return form

    def fill(
        self, form: Form, keys: list[str], items: Mapping[str, Item], answers: Mapping[str, Any]
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"csrf_token": form.fields.get("csrf_token", "")}
        if "included" in form.choices:  # the procedures page: keep what is ticked
            data["included"] = [
                v
                for v in form.choices["included"]
                if v in answers.get("included", form.choices["included"])
            ]
            return data
        for key in keys:
            item = items[key]
            value = answers[key] if key in answers else self.typical(item)
            if item.type == "group":
                value = [self.complete_entry(item, entry) for entry in value]
            data.update(encode(name_of(key), item, value))
        return data

    def complete_entry(self, group: Item, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A group entry with the test's answers and typical ones for the rest."""
        return {sub.key: entry.get(sub.key, self.typical(sub.item)) for sub in group.fields}

    def typical(self, item: Item) -> Any:
        """A valid answer for an item the test does not care about."""
        kind = item.type
        validation = item.validation
        if kind == "date":
            return self.today.isoformat()
        if kind == "address":
            return CHIYODA_ADDRESS
        if kind == "number":
            return validation.get("min", 1) if validation.get("min", 1) > 0 else 1
        if kind in ("select", "radio"):
            return item.options[0].value
        if kind == "checkbox":
            return [item.options[0].value]
        if kind == "yes_no":
            return False
        if kind in ("text", "digits") and validation.get("min_length"):
            return ("1234567890" * 10)[: validation["min_length"]]
        if kind == "group":
            return [{sub.key: self.typical(sub.item) for sub in item.fields}] * max(
                1, item.min_items
            )
        return {
            "name": "山田",
            "kana": "ヤマダ",
            "postal_code": "100-0013",
            "phone": "03-1234-5678",
            "email": "taro@example.jp",
            "time": "14:05",
            "file": PDF,
        }.get(kind, "記入例")

    def shown_again(self, url: str, response: TestResponse) -> TestResponse:
        """A page that could not be saved redirects to itself (Post/Redirect/Get); its GET
        shows what was typed and why it was refused (422 when it shows errors)."""
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"] == url, (response.headers["Location"], url)
        page = self.client.get(url)
        assert page.status_code in (200, 422), page.status_code
        return page

    def submit(self, check_page: TestResponse) -> TestResponse:
        form = post_form(check_page.text)
        return self.client.post(
            form.action, data={"csrf_token": form.fields["csrf_token"], "declaration": "y"}
        )


def name_of(key: str) -> str:
    return key.replace(".", "__")


def entries_shown(form: Form, group_name: str) -> int:
    indexes = {
        name.split("-")[1]
        for name in [*form.fields, *form.choices]
        if name.startswith(group_name + "-")
    }
    return len(indexes)


def asked_keys(form: Form) -> list[str]:
    """The keys a page asks, from its inputs' names (``a__b-year`` asks ``a.b``)."""
    names = [*form.fields, *form.choices]
    keys: list[str] = []
    for name in names:
        if name in BUTTONS or name in ("declaration", "included"):
            continue
        key = name.split("-")[0].replace("__", ".")
        if key not in keys:
            keys.append(key)
    return keys


def encode(name: str, item: Item, value: Any) -> dict[str, Any]:
    """How a browser posts an answer of this type."""
    kind = item.type
    if kind == "date":
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return {
            f"{name}-year": str(day.year),
            f"{name}-month": str(day.month),
            f"{name}-day": str(day.day),
        }
    if kind == "address":
        return {
            f"{name}-{part}": str(part_value)
            for part, part_value in value.items()
            if part != "municipality_code"
        }
    if kind == "yes_no":
        return {name: "yes" if value else "no"}
    if kind == "checkbox":
        return {name: list(value)}
    if kind == "file":
        return {name: (io.BytesIO(value if isinstance(value, bytes) else PDF), "document.pdf")}
    if kind == "group":
        data: dict[str, Any] = {}
        for index, entry in enumerate(value):
            for sub in item.fields:
                if sub.key in entry:
                    data.update(encode(f"{name}-{index}-{sub.key}", sub.item, entry[sub.key]))
        return data
    return {name: str(value)}


def notices(html: str) -> list[str]:
    return re.findall(r'class="notification[^"]*"[^>]*>\s*<p>(.*?)</p>', html, flags=re.S)


def errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>(.*?)</p>', html, flags=re.S)


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


#: A move within Chiyoda, filed by the resident for themselves: the shortest moving journey.
WITHIN = {
    "filing.proxy": False,
    "move.scope": "within",
    "move.new_address": CHIYODA_ADDRESS,
    "move.date": days_ago(1),
    "move.members": [],
    "move.circumstances": [],
}
#: The same resident filing, as a proxy, a move from Chiyoda to Yokohama.
MOVING_AS_PROXY = {
    **WITHIN,
    "move.scope": "between",
    "filing.proxy": True,
    "principal.address": CHIYODA_ADDRESS,
    "principal.birthdate": "1950-01-01",
    "move.new_address": {"postal_code": "231-0021", "street": "1", "building": ""},
}

#: Addresses as a saved page keeps them, the postal lookup having filled them in.
CHIYODA_SAVED = {
    **CHIYODA_ADDRESS,
    "prefecture": "東京都",
    "city": "千代田区",
    "town": "霞が関",
    "municipality_code": "131016",
}
YOKOHAMA_NAKA_SAVED = {
    "postal_code": "231-0021",
    "prefecture": "神奈川県",
    "city": "横浜市中区",
    "town": "日本大通",
    "street": "1",
    "building": "",
    "municipality_code": "141046",
}
#: ``MOVING_AS_PROXY`` as saved: ready for ``services.submit`` on a factory-made case.
SAVED_MOVE = {
    **MOVING_AS_PROXY,
    "principal.address": CHIYODA_SAVED,
    "move.new_address": YOKOHAMA_NAKA_SAVED,
}
