"""The page language: the client's ``ui_locales`` choice (OpenID Connect Core 3.1.2.1).

The provider keeps no language of its own: the portal passes the resident's language on each
request, so the sign-in page continues in the language they were reading.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import g, has_request_context, request
from flask_babel import get_locale

from .config import LANGUAGES

DEFAULT_LANGUAGE = "ja"
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


def choose_language(ui_locales: str | None) -> str:
    """The first supported tag of the space-separated list (``en-US`` counts as ``en``)."""
    for tag in (ui_locales or "").split():
        language = tag.split("-", 1)[0].lower()
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector; the choice is kept for the rest of the request."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    language: str | None = g.get("_devidp_language")
    if language is None:
        language = choose_language(request.values.get("ui_locales"))
        g._devidp_language = language
    return language


def current_language() -> str:
    locale = get_locale()
    return str(locale.language) if locale else DEFAULT_LANGUAGE


def other_language_url(language: str) -> str:
    """This page's URL with ``ui_locales`` set to ``language``, other parameters kept."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "ui_locales"]
    pairs.append(("ui_locales", language))
    return f"{request.path}?{urlencode(pairs)}"
