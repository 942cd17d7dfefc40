"""How a stored answer reads, in the current language: one summarizer per item type.

The check-your-answers page, the back office and PDFs all read answers, and the last two have
no form and no request: this module imports no WTForms and no Flask-WTF. Outside a request it
needs an app context and the language chosen with ``flask_babel.force_locale`` (the
resident's, when rendering for someone else), since the portal's locale selector reads the
request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from portal.definitions.model import ADDRESS_PARTS, Item, Text
from portal.i18n import current_language
from portal.japan.dates import format_resident_date
from portal.japan.values import display_phone
from portal.journey.fields.names import entry_title

Summary = str | list[str]


def summarize(item: Item, answer: Any) -> Summary:
    """An answer as the check-your-answers page shows it, in the current language.

    A ``str``, or a list of lines for a group (``"2 entries"`` and one line per entry) and for
    a textarea of several lines. ``""`` when there is no answer. A file's answer is its name.
    """
    try:
        summarizer = SUMMARIZERS[item.type]
    except KeyError:
        raise ValueError(f"no summary for item type {item.type!r}") from None
    return summarizer(item, answer)


def _as_text(item: Item, answer: Any) -> Summary:
    return "" if answer in (None, "") else str(answer)


def _lines(item: Item, answer: Any) -> Summary:
    if not answer:
        return ""
    lines = str(answer).splitlines()
    return lines if len(lines) > 1 else str(answer)


def _phone(item: Item, answer: Any) -> Summary:
    return display_phone(str(answer)) if answer else ""


def number_unit(item: Item) -> Text | str | None:
    """A number's unit ("yen", 円), shown after the input and after the answer."""
    unit = item.validation.get("unit")
    return Text.of(unit) if isinstance(unit, Mapping) else unit


def _number(item: Item, answer: Any) -> Summary:
    if answer is None or answer == "" or isinstance(answer, bool):
        return ""
    try:
        text = format_decimal(answer)
    except (TypeError, ValueError):
        text = str(answer)
    unit = number_unit(item)
    if not unit:
        return text
    return f"{text} {unit}" if current_language() == "en" else f"{text}{unit}"


def _date(item: Item, answer: Any) -> Summary:
    if not answer:
        return ""
    try:
        return format_resident_date(date.fromisoformat(str(answer)))
    except ValueError:
        return str(answer)


def _address(item: Item, answer: Any) -> Summary:
    if not isinstance(answer, Mapping) or not any(answer.values()):
        return ""
    parts = {part: str(answer.get(part) or "") for part in ADDRESS_PARTS}
    line = "".join(parts[p] for p in ("prefecture", "city", "town", "street"))
    if parts["postal_code"]:
        line = f"〒{parts['postal_code']} {line}"
    if parts["building"]:
        line = f"{line} {parts['building']}"
    return line


def _option(item: Item, answer: Any) -> str:
    if answer in (None, ""):
        return ""
    option = item.option(str(answer))
    return str(option.label) if option else str(answer)


def _yes_no(item: Item, answer: Any) -> Summary:
    if not isinstance(answer, bool):
        return ""
    return _("Yes") if answer else _("No")


def _options(item: Item, answer: Any) -> Summary:
    if not isinstance(answer, list | tuple) or not answer:
        return ""
    labels = [_option(item, value) for value in answer]
    return ("、" if current_language() == "ja" else ", ").join(labels)


def _file(item: Item, answer: Any) -> Summary:
    if isinstance(answer, Mapping):
        answer = answer.get("filename") or answer.get("name")
    return str(answer) if answer else ""


def _group(item: Item, answer: Any) -> Summary:
    """``["2 entries", "Child 1: Name: Hanako; Date of birth: ...", ...]``: a line each."""
    if not isinstance(answer, list) or not answer:
        return ""
    japanese = current_language() == "ja"
    between, colon = ("、", "：") if japanese else ("; ", ": ")
    lines = [ngettext("%(num)d entry", "%(num)d entries", len(answer))]
    for position, stored in enumerate(answer, 1):
        stored = stored if isinstance(stored, Mapping) else {}
        facts = []
        for sub in item.fields:
            value = summarize(sub.item, stored.get(sub.key))
            text = " ".join(value) if isinstance(value, list) else value
            if text:
                facts.append(f"{sub.item.summary_label or sub.item.label}{colon}{text}")
        lines.append(f"{entry_title(item, position)}{colon}{between.join(facts)}")
    return lines


#: By item type; every field type has one (a test checks).
SUMMARIZERS: dict[str, Callable[[Item, Any], Summary]] = {
    "text": _as_text,
    "name": _as_text,
    "kana": _as_text,
    "postal_code": _as_text,
    "email": _as_text,
    "time": _as_text,
    "digits": _as_text,
    "textarea": _lines,
    "phone": _phone,
    "number": _number,
    "date": _date,
    "address": _address,
    "select": _option,
    "radio": _option,
    "yes_no": _yes_no,
    "checkbox": _options,
    "file": _file,
    "group": _group,
}
