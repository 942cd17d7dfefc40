"""A clerk at work on a request's page, through the Flask test client: open it, press an
action's button with what they type, as a browser posts the form the page shows."""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from tests.support.html import Form, forms
from tests.support.people import login_as


class Clerk:
    def __init__(self, app: Flask, account_id: int) -> None:
        self.client = app.test_client()
        login_as(self.client, account_id)
        #: The last page seen, whose forms the next action posts (a stale page stays stale).
        self.page = ""

    def open(self, request_id: int) -> TestResponse:
        response = self.client.get(url(request_id))
        self.page = response.text
        return response

    def offers(self, action: str) -> bool:
        return _form(self.page, action) is not None

    def act(self, request_id: int, action: str, **typed: Any) -> TestResponse:
        """Post the action's form as the last page showed it (its version, its token)."""
        form = _form(self.page, action)
        assert form is not None, f"the page offers no {action!r}"
        data: dict[str, Any] = {**dict(form.fields), **_textareas(self.page, action)}
        data[f"{action}-submit"] = "y"
        data.update({f"{action}-{name}": value for name, value in typed.items()})
        response = self.client.post(url(request_id), data=data)
        if response.status_code == 303:  # followed, as a browser does
            self.open(request_id)
        else:
            self.page = response.text
        return response

    # The actions, as the journey reads ----------------------------------------------------

    def claim(self, request_id: int) -> TestResponse:
        return self.act(request_id, "claim")

    def approve(self, request_id: int) -> TestResponse:
        return self.act(request_id, "approve")

    def reject(self, request_id: int, reason: str) -> TestResponse:
        return self.act(request_id, "reject", reason=reason)


def url(request_id: int) -> str:
    return f"/staff/requests/{request_id}"


def _form(page: str, action: str) -> Form | None:
    button = f"{action}-submit"
    return next((f for f in forms(page) if button in f.fields or button in f.choices), None)


def _textareas(page: str, action: str) -> dict[str, str]:
    """What the action's text areas hold (``tests.support.html`` reads only attributes)."""
    found = re.findall(rf'<textarea[^>]*name="({action}-[^"]+)"[^>]*>(.*?)</textarea>', page, re.S)
    return {
        name: html.unescape(content.removeprefix("\r\n").removeprefix("\n"))
        for name, content in found
    }
