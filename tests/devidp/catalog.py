"""The Japanese the provider shows by default, read from the project's own catalog.

Tests that check the Japanese pages take the text from ``translations/ja`` rather than
repeating it, so a reworded translation does not break them; a missing one does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from portal.devidp.config import TRANSLATIONS_FOLDER

JA_PO = TRANSLATIONS_FOLDER / "ja" / "LC_MESSAGES" / "messages.po"


@cache
def _catalog() -> Catalog:
    with open(JA_PO, "rb") as handle:
        return read_po(handle, locale="ja")


def ja(msgid: str, **variables: Any) -> str:
    """The Japanese for ``msgid`` (the singular, for a plural message), formatted."""
    message = _catalog().get(msgid)
    assert message is not None, f"not in {JA_PO}: {msgid!r}"
    assert not message.fuzzy, f"fuzzy in {JA_PO}: {msgid!r}"
    # Japanese has one plural form: msgstr[0] serves every number.
    text = message.string[0] if isinstance(message.string, tuple) else message.string
    assert text, f"not translated in {JA_PO}: {msgid!r}"
    return text % variables if variables else text
