"""README.md tells the truth: the demo personas and PINs, and every setting."""

from __future__ import annotations

import re
from pathlib import Path

from portal.config import DEFAULTS
from portal.devidp.config import DEFAULTS as PROVIDER_DEFAULTS
from portal.devidp.personas import PERSONAS
from tests.support.people import PINS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_demo_persona_is_listed_with_its_pin() -> None:
    listed = dict(re.findall(r"`([a-z]+-[a-z]+)` \|[^|]+\| (\d{4}) \|", README))
    assert listed == {persona.id: persona.pin for persona in PERSONAS} == PINS


def test_every_setting_is_in_the_settings_table() -> None:
    documented = set(re.findall(r"^\| `PORTAL_([A-Z_]+)` \|", README, flags=re.MULTILINE))
    internal = {
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "SESSION_COOKIE_SECURE",
        "REMEMBER_COOKIE_HTTPONLY",
        "REMEMBER_COOKIE_SAMESITE",
        "REMEMBER_COOKIE_SECURE",
        "BABEL_DEFAULT_LOCALE",
        "BABEL_DEFAULT_TIMEZONE",
        "LANGUAGES",
        "LANGUAGE_COOKIE_NAME",
        "WTF_CSRF_TIME_LIMIT",
        "MAX_CONTENT_LENGTH",
        "SQLALCHEMY_TRACK_MODIFICATIONS",
    }
    assert set(DEFAULTS) - internal <= documented
    # The development provider reads the same environment; its own settings start DEVIDP_.
    assert {key for key in PROVIDER_DEFAULTS if key.startswith("DEVIDP_")} <= documented
