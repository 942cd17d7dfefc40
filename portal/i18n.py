"""Language choice and localised values.

Japanese is the default; a resident may switch to English, which a cookie remembers. Inside a
request the resident's choice applies. Outside one (a CLI command, a job, a PDF or an e-mail
for someone else) nothing reads the request: texts render in the default language, or in the
one given with :func:`force_locale`, as Indico renders what it sends to others.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flask_babel
from babel import Locale
from babel.support import NullTranslations
from flask import current_app, has_app_context, has_request_context, request
from flask.ctx import AppContext
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations

#: The language where no request and no app says otherwise.
DEFAULT_LANGUAGE = "ja"


def select_locale() -> str:
    """Flask-Babel's locale selector: the cookie's language in a request, else the default."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE_NAME"])
    return chosen if chosen in current_app.config["LANGUAGES"] else default


def current_language() -> str:
    context = _cv_app.get(None)
    locale = _locale_in_force(context) if context is not None else None
    return locale.language if locale else DEFAULT_LANGUAGE


def translations_in_force() -> NullTranslations:
    """The translations of the language in force (the request's, or one forced): the
    templates' ``_``. Flask-Babel finds them anew on every call through a dozen lookups of the
    request's globals; a page calls it dozens of times, so they are found once per language
    and app here, with the language read as Flask-Babel keeps it (``force_locale`` included).
    """
    context = _cv_app.get(None)
    if context is None:
        return get_translations()
    locale = _locale_in_force(context)
    known: dict[str, NullTranslations] = context.app.extensions.setdefault("translations", {})
    key = str(locale)
    found = known.get(key)
    if found is None:
        found = known[key] = get_translations()
    return found


def _locale_in_force(context: AppContext) -> Locale | None:
    """Flask-Babel's ``get_locale()``, read straight from where it keeps the locale once it
    has chosen it for this context (its ``force_locale`` sets the same place)."""
    state = context.g.__dict__.get("_flask_babel")
    locale: Locale | None = getattr(state, "babel_locale", None)
    return locale if locale is not None else get_locale()


@contextmanager
def force_locale(language: str) -> Iterator[None]:
    """Render everything in the block in ``language`` (``"ja"`` or ``"en"``), in a request or
    not: for what is written for someone other than the person asking.

    Flask-Babel's ``force_locale`` silently does nothing outside an app context, and takes any
    locale; here both are errors, so a text never comes out in a language nobody chose.
    """
    if not has_app_context():
        raise RuntimeError("force_locale needs an app context: use app.app_context()")
    if language not in current_app.config["LANGUAGES"]:
        raise ValueError(f"{language!r} is not one of {current_app.config['LANGUAGES']}")
    with flask_babel.force_locale(language):
        yield


def localized(ja: str, en: str | None) -> str:
    """Pick the value for the current language; Japanese stands in where English is missing."""
    return en if current_language() == "en" and en else ja
