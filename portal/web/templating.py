"""What every template may use: the language switch, the signed-in account, asset URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import gettext as _
from werkzeug.security import safe_join

from portal.i18n import current_language, translations_in_force
from portal.japan.dates import (
    format_iso_date,
    format_resident_date,
    format_resident_datetime,
    format_resident_time,
    format_weekday_date,
)
from portal.keyfiles import stamp

LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


def init_app(app: Flask) -> None:
    """After Flask-Babel's ``init_app``: its template ``_`` gives way to a cheaper one."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations_in_force().ugettext(s),
        ngettext=lambda s, p, n: translations_in_force().ungettext(s, p, n),
        pgettext=lambda c, s: translations_in_force().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations_in_force().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.context_processor(_globals)
    app.url_defaults(_static_version)
    app.add_template_global(field_attributes)
    app.add_template_filter(format_iso_date)
    app.add_template_filter(format_resident_date)
    app.add_template_filter(format_resident_datetime)
    app.add_template_filter(format_resident_time)
    app.add_template_filter(format_weekday_date)


def _globals() -> dict[str, Any]:
    language = current_language()
    return {
        "current_language": language,
        "language_names": LANGUAGE_NAMES,
        "current_path": request.full_path.rstrip("?") if request else "/",
        "static_url": lambda filename: url_for("static", filename=filename),
        "layout_text": _made_once(("texts", language), _layout_texts),
        # Outside a request (an e-mail's template) no URL can be built, nor is one shown.
        "layout_url": _made_once(("urls", request.script_root), _layout_urls) if request else {},
    }


def _static_version(endpoint: str, values: dict[str, Any]) -> None:
    """A static file's URL carries its content's digest (``?v=``): in production browsers keep
    static files for a year (deploy/nginx/madoguchi.conf), and a changed file gets a new URL."""
    if endpoint != "static" or "v" in values or not current_app.static_folder:
        return
    path = safe_join(current_app.static_folder, values.get("filename", ""))
    try:
        version = stamp(Path(path)) if path else None
    except OSError:
        return
    if version is not None:
        values["v"] = _digest(str(path), *version)


@lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """Read once per version of the file (its name, time and size)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _made_once(key: tuple[str, str], make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The layout's texts by language and its links by the app's mount point, made once each
    per app: every page shows them, and gettext and url_for are much of the layout's cost."""
    made: dict[tuple[str, str], dict[str, str]] = current_app.extensions.setdefault(
        "layout_parts", {}
    )
    if key not in made:
        made[key] = make()
    return made[key]


def _layout_texts() -> dict[str, str]:
    """In the language gettext answers in now (the key's)."""
    return {
        "name": _("Madoguchi"),
        "skip": _("Skip to main content"),
        "tools": _("Account and language"),
        "mailbox": _("Mailbox"),
        "staff": _("Staff"),
        "sign_out": _("Sign out"),
        "about": _("Madoguchi is open-source software for municipal online services."),
        "staff_sign_in": _("Sign-in for municipal staff"),
    }


def _layout_urls() -> dict[str, str]:
    """For the mount point the request came through (the key's)."""
    return {
        "css": url_for("static", filename="css/portal.css"),
        "icon": url_for("static", filename="favicon.svg"),
        "home": url_for("dashboard.home"),
        "choose_language": url_for("dashboard.choose_language"),
        "mailbox": url_for("mailbox.index"),
        "staff": url_for("staff.home"),
        "sign_out": url_for("auth.logout"),
        "staff_sign_in": url_for("auth.staff_login"),
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
