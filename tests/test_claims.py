"""What the sign-in tells the portal about the resident, from whichever provider, and where
it goes: the dashboard, and the answers a case starts with.

Over real HTTP against the development provider: once with the claims in the ID token, once
with them only at /userinfo (as most certified providers do), and with claims of other shapes
that real providers send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from joserfc import jws

from tests.support.journey import Resident, days_ago

MOVE = {
    "filing.proxy": False,
    "move.scope": "within",
    "move.new_address": {"postal_code": "102-0082", "street": "1-1", "building": ""},
    "move.date": days_ago(1),
    "move.members": [],
    "move.circumstances": [],
}


@pytest.fixture
def claims_in_userinfo_only(provider) -> Iterator[None]:  # noqa: ANN001
    """The provider as most are: the ID token names only whom it is about."""
    state = provider.app.extensions["devidp"]
    state.claims_in_userinfo_only = True
    yield
    state.claims_in_userinfo_only = False


def rewrite_userinfo(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def rewrite(body: bytes) -> bytes:
        claims = json.loads(body)
        change(claims)
        return json.dumps(claims).encode()

    return rewrite


def id_token_claims_seen(provider) -> list[dict[str, Any]]:  # noqa: ANN001
    """Records the claims of each ID token the provider sends, leaving the answer as it is."""
    seen: list[dict[str, Any]] = []

    def record(body: bytes) -> bytes:
        token = json.loads(body)["id_token"]
        seen.append(json.loads(jws.extract_compact(token.encode()).payload))
        return body

    provider.tamper.rewrite["/token"] = record
    return seen


@pytest.mark.parametrize("where", ["id_token", "userinfo"])
def test_the_claims_reach_the_dashboard_and_the_forms(
    request: pytest.FixtureRequest, provider, resident, where: str
) -> None:
    if where == "userinfo":
        request.getfixturevalue("claims_in_userinfo_only")
    seen = id_token_claims_seen(provider)
    person: Resident = resident("yamada-taro")
    assert ("name" in seen[0]) is (where == "id_token")

    home = person.client.get("/")
    assert "ようこそ、山田 太郎 さん" in home.text
    assert "ヤマダ タロウ" in home.text and "霞が関1丁目3番1号" in home.text

    first = person.start("moving")
    answers = person.case().answers  # as the case starts, before anything is typed
    assert answers["applicant.family_name"] == "山田"
    assert answers["applicant.given_name_kana"] == "タロウ"
    assert answers["applicant.birthdate"] == "1985-04-12"
    assert answers["principal.address"]["street"] == "1丁目3番1号"
    assert answers["principal.address"]["municipality_code"] == "131016"
    walk = person.walk(first, MOVE)
    assert "principal.address" not in walk.asked and "applicant.birthdate" not in walk.asked
    assert "山田" in walk.last.text  # the check page, with the certified name


def test_userinfo_about_someone_else_is_refused(
    provider, person, demo, claims_in_userinfo_only
) -> None:
    provider.tamper.rewrite["/userinfo"] = rewrite_userinfo(
        lambda claims: claims.update(sub="別人-someone-else", name="成りすまし")
    )
    signed_in = person("yamada-taro").sign_in()
    assert signed_in.response.status_code == 400
    assert "成りすまし" not in signed_in.response.text


def shaped(change: Callable[[dict[str, Any]], None]):  # noqa: ANN201
    """A resident whose provider sends its claims in another shape, at /userinfo."""

    @pytest.fixture
    def fixture(provider, resident, claims_in_userinfo_only) -> Resident:  # noqa: ANN001
        provider.tamper.rewrite["/userinfo"] = rewrite_userinfo(change)
        return resident("yamada-taro")

    return fixture


def _formatted_address_only(claims: dict[str, Any]) -> None:
    claims["address"] = {"formatted": "〒100-0013 東京都千代田区霞が関1丁目3番1号"}


def _no_name(claims: dict[str, Any]) -> None:
    del claims["name"], claims["name#ja-Kana-JP"]


def _latin_letters(claims: dict[str, Any]) -> None:
    claims.update(
        {
            "name": "Taro Yamada",
            "family_name": "Yamada",
            "given_name": "Taro",
            "name#ja-Kana-JP": "Taro Yamada",
            "family_name#ja-Kana-JP": "Yamada",
            "given_name#ja-Kana-JP": "Taro",
            "address": {"formatted": "1-3-1 Kasumigaseki, Chiyoda-ku, Tokyo", "country": "JP"},
        }
    )


def _unknown_postal_code(claims: dict[str, Any]) -> None:
    claims["address"] = dict(claims["address"], postal_code="999-9999")


def _odd_values(claims: dict[str, Any]) -> None:
    claims.update(birthdate="1985", gender=["male"], address="東京都千代田区霞が関1丁目3番1号")


formatted_address_only = shaped(_formatted_address_only)
without_name = shaped(_no_name)
in_latin_letters = shaped(_latin_letters)
unknown_postal_code = shaped(_unknown_postal_code)
odd_values = shaped(_odd_values)


def test_an_address_of_only_formatted_text_is_read_from_it(formatted_address_only) -> None:
    person = formatted_address_only
    assert "〒100-0013 東京都千代田区霞が関1丁目3番1号" in person.client.get("/").text
    walk = person.walk(person.start("moving"), MOVE)
    address = person.case().answers["principal.address"]
    assert (address["postal_code"], address["street"]) == ("100-0013", "1丁目3番1号")
    assert "principal.address" not in walk.asked


def test_a_missing_name_is_made_of_family_and_given_names(without_name) -> None:
    person = without_name
    home = person.client.get("/")
    assert "山田 太郎" in home.text and "ヤマダ タロウ" in home.text
    person.walk(person.start("moving"), MOVE)
    assert person.case().answers["principal.name"] == "山田 太郎"
    assert person.case().answers["principal.name_kana"] == "ヤマダ タロウ"


def test_names_in_latin_letters_fill_names_but_not_readings(in_latin_letters) -> None:
    person = in_latin_letters
    assert "Taro Yamada" in person.client.get("/").text
    walk = person.walk(person.start("moving"), MOVE)
    answers = person.case().answers
    assert answers["applicant.family_name"] == "Yamada"
    # A reading must be kana: asked, not prefilled with letters the field would refuse.
    assert "applicant.family_name_kana" in walk.asked
    assert answers["applicant.family_name_kana"] == "ヤマダ"  # what the walk typed
    # An address the postal lookup cannot read is asked too.
    assert "principal.address" in walk.asked


def test_an_address_the_postal_lookup_does_not_know_is_asked(unknown_postal_code) -> None:
    person = unknown_postal_code
    assert person.client.get("/").status_code == 200
    walk = person.walk(person.start("moving"), MOVE)
    assert "principal.address" in walk.asked
    assert person.case().answers["principal.address"]["postal_code"] == "100-0013"  # typed


def test_claims_of_unexpected_types_are_left_for_the_resident(odd_values) -> None:
    person = odd_values
    home = person.client.get("/")
    assert home.status_code == 200 and "東京都千代田区霞が関1丁目3番1号" in home.text
    walk = person.walk(person.start("moving"), MOVE)
    assert "principal.birthdate" in walk.asked and "principal.address" in walk.asked
    assert person.case().answers["applicant.family_name"] == "山田"


def test_a_proxy_fills_in_the_person_they_file_for(resident) -> None:
    person: Resident = resident("yamada-taro")
    first = person.start("moving")
    principal = {
        "principal.address": {"postal_code": "231-0021", "street": "1", "building": ""},
        "principal.birthdate": "1950-02-03",
        "principal.name": "佐藤 一郎",
        "principal.name_kana": "サトウ イチロウ",
        "principal.sex": "male",
    }
    until_address = person.walk(first, {"filing.proxy": True}, until="/q-principal.address")
    page = person.client.get(until_address.last.request.path)
    assert 'value="100-0013"' not in page.text and "霞が関" not in page.text
    assert "principal.address" not in person.case().answers

    walk = person.walk(until_address.last.request.path, {**MOVE, "filing.proxy": True, **principal})
    assert {"principal.address", "principal.birthdate", "principal.name"} <= set(walk.asked)
    answers = person.case().answers
    assert answers["principal.name"] == "佐藤 一郎"
    assert answers["principal.birthdate"] == "1950-02-03"
    assert answers["principal.address"]["postal_code"] == "231-0021"
    # The filer is still the signed-in resident, from the card.
    assert answers["applicant.family_name"] == "山田"


def test_filing_for_oneself_after_all_fills_in_the_card_again(resident) -> None:
    person: Resident = resident("yamada-taro")
    first = person.start("moving")
    person.walk(first, {"filing.proxy": True}, until="/q-principal.address")
    assert "principal.birthdate" not in person.case().answers
    person.walk(first, {"filing.proxy": False}, until="/q-move.scope")
    answers = person.case().answers
    assert answers["principal.birthdate"] == "1985-04-12"
    assert answers["principal.name"] == "山田 太郎"
