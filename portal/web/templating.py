"""What every template may use: the language switch, the signed-in account, asset URLs."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for

from portal.i18n import current_language
from portal.japan.dates import (
    format_iso_date,
    format_resident_date,
    format_resident_datetime,
    format_resident_time,
    format_weekday_date,
)

LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


def init_app(app: Flask) -> None:
    app.context_processor(_globals)
    app.add_template_global(field_attributes)
    app.add_template_filter(format_iso_date)
    app.add_template_filter(format_resident_date)
    app.add_template_filter(format_resident_datetime)
    app.add_template_filter(format_resident_time)
    app.add_template_filter(format_weekday_date)


def _globals() -> dict[str, Any]:
    return {
        "current_language": current_language(),
        "language_names": LANGUAGE_NAMES,
        "current_path": request.full_path.rstrip("?") if request else "/",
        "static_url": lambda filename: url_for("static", filename=filename),
    }


def field_attributes(field: Any, hint: str | None, extra: dict[str, str]) -> dict[str, str]:
    """The input's attributes: its class, and the hint and error it is described by."""
    described = []
    if hint:
        described.append(f"{field.id}-hint")
    if field.errors:
        described.append(f"{field.id}-error")
    attributes = {"class_": "input", **extra}
    if described:
        attributes["aria-describedby"] = " ".join(described)
    if field.errors:
        attributes["aria-invalid"] = "true"
    return attributes
