"""Language choice and localised values.

Japanese is the default; a resident may switch to English, which a cookie remembers.
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import get_locale


def select_locale() -> str:
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE_NAME"])
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "ja"


def localized(ja: str, en: str | None) -> str:
    """Pick the value for the current language; Japanese stands in where English is missing."""
    return en if current_language() == "en" and en else ja
