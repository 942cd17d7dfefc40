"""Reading pages the way a browser would: forms and their fields, visible text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag in ("input", "button", "textarea", "select") and self.forms and a.get("name"):
            form = self.forms[-1]
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") or tag == "button":
                form.choices.setdefault(a["name"], []).append(a.get("value", ""))
                if "checked" in a:
                    form.fields[a["name"]] = a.get("value", "")
            else:
                form.fields[a["name"]] = a.get("value", "")


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def post_form(html: str) -> Form:
    """The page's main form: the last POST form (the header holds small ones before it)."""
    posted = [form for form in forms(html) if form.method == "post"]
    assert posted, "no POST form on the page"
    return posted[-1]


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def text(html: str) -> str:
    """The visible text, whitespace collapsed: what a reader of the page sees."""
    parser = _TextParser()
    parser.feed(html)
    return " ".join(parser.parts)
