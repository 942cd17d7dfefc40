"""The demo people who can sign in at the development ID provider.

They stand in for holders of a My Number card, so the portal can be shown and tested with
residents, municipal clerks and administrators without any real personal data. The ids and
PINs are documented in README.md: keep them stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: The assurance level of the My Number card's public personal authentication (JPKI).
ACR_CARD = "urn:madoguchi:acr:mynumber-card"
#: A lower level: a password, without the card. The portal is expected to refuse it.
ACR_LOW = "urn:madoguchi:acr:password"

ACR_VALUES = (ACR_CARD, ACR_LOW)

CHIYODA = "131016"
YOKOHAMA = "141003"


@dataclass(frozen=True)
class Address:
    """A postal address shaped like the OpenID Connect ``address`` claim."""

    postal_code: str
    region: str
    locality: str
    street_address: str
    country: str = "JP"

    @property
    def formatted(self) -> str:
        return f"〒{self.postal_code} {self.region}{self.locality}{self.street_address}"

    def as_claim(self) -> dict[str, str]:
        return {
            "formatted": self.formatted,
            "street_address": self.street_address,
            "locality": self.locality,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
        }


@dataclass(frozen=True)
class Persona:
    """One demo person: who they are, their card PIN and the level they sign in with."""

    id: str
    pin: str
    acr: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birthdate: str
    gender: str
    address: Address
    municipality_code: str
    description_ja: str
    description_en: str
    #: The ``email`` claim, and whether the provider vouches for it (``email_verified``).
    email: str = ""
    email_verified: bool = True

    @property
    def name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}"

    @property
    def uses_card(self) -> bool:
        return self.acr == ACR_CARD

    def description(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_ja

    def identity_claims(self, scopes: set[str]) -> dict[str, Any]:
        """The claims this person discloses for the granted scopes (``sub`` not included)."""
        claims: dict[str, Any] = {}
        if "profile" in scopes:
            claims.update(
                {
                    "name": self.name,
                    "family_name": self.family_name,
                    "given_name": self.given_name,
                    "name#ja-Kana-JP": self.name_kana,
                    "family_name#ja-Kana-JP": self.family_name_kana,
                    "given_name#ja-Kana-JP": self.given_name_kana,
                    "birthdate": self.birthdate,
                    "gender": self.gender,
                }
            )
        if "address" in scopes:
            claims["address"] = self.address.as_claim()
        if "email" in scopes and self.email:
            claims["email"] = self.email
            claims["email_verified"] = self.email_verified
        return claims


_KASUMIGASEKI = Address("100-0013", "東京都", "千代田区", "霞が関1丁目3番1号")

PERSONAS: tuple[Persona, ...] = (
    Persona(
        id="yamada-taro",
        pin="1234",
        acr=ACR_CARD,
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        birthdate="1985-04-12",
        gender="male",
        address=_KASUMIGASEKI,
        municipality_code=CHIYODA,
        description_ja="千代田区に住む住民",
        description_en="A resident of Chiyoda City",
        email="yamada.taro@example.jp",
    ),
    Persona(
        id="sato-hanako",
        pin="2345",
        acr=ACR_CARD,
        family_name="佐藤",
        given_name="花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        birthdate="1990-09-30",
        gender="female",
        address=Address("231-0021", "神奈川県", "横浜市中区", "日本大通1"),
        municipality_code=YOKOHAMA,
        description_ja="横浜市に住む住民",
        description_en="A resident of Yokohama City",
        email="sato.hanako@example.jp",
        email_verified=False,
    ),
    Persona(
        id="suzuki-ichiro",
        pin="3456",
        acr=ACR_LOW,
        family_name="鈴木",
        given_name="一郎",
        family_name_kana="スズキ",
        given_name_kana="イチロウ",
        birthdate="1978-01-20",
        gender="male",
        address=Address("102-0082", "東京都", "千代田区", "一番町10番地"),
        municipality_code=CHIYODA,
        description_ja="千代田区に住む住民。カードを使わずにサインインします",
        description_en="A resident of Chiyoda City who signs in without the card",
    ),
    Persona(
        id="tanaka-jiro",
        pin="1111",
        acr=ACR_CARD,
        family_name="田中",
        given_name="次郎",
        family_name_kana="タナカ",
        given_name_kana="ジロウ",
        birthdate="1982-07-07",
        gender="male",
        address=Address("101-0021", "東京都", "千代田区", "外神田3丁目5番2号"),
        municipality_code=CHIYODA,
        description_ja="千代田区 住民記録担当・子ども支援担当の職員",
        description_en="Clerk at Chiyoda City's resident registration and child support divisions",
    ),
    Persona(
        id="takahashi-misaki",
        pin="2222",
        acr=ACR_CARD,
        family_name="高橋",
        given_name="美咲",
        family_name_kana="タカハシ",
        given_name_kana="ミサキ",
        birthdate="1992-03-15",
        gender="female",
        address=Address("220-0012", "神奈川県", "横浜市西区", "みなとみらい4丁目6番2号"),
        municipality_code=YOKOHAMA,
        description_ja="横浜市 住民記録担当・保険担当・こども家庭支援担当の職員",
        description_en=(
            "Clerk at Yokohama City's resident registration, insurance and child support divisions"
        ),
    ),
    Persona(
        id="nakamura-yoko",
        pin="3333",
        acr=ACR_CARD,
        family_name="中村",
        given_name="洋子",
        family_name_kana="ナカムラ",
        given_name_kana="ヨウコ",
        birthdate="1970-02-18",
        gender="female",
        address=Address("102-0083", "東京都", "千代田区", "麹町2丁目4番"),
        municipality_code=CHIYODA,
        description_ja="千代田区 住民記録担当・子ども支援担当の係長（二人目の承認）",
        description_en=(
            "Supervisor at Chiyoda City's resident registration and child support divisions"
        ),
    ),
    Persona(
        id="kobayashi-makoto",
        pin="4444",
        acr=ACR_CARD,
        family_name="小林",
        given_name="誠",
        family_name_kana="コバヤシ",
        given_name_kana="マコト",
        birthdate="1968-10-05",
        gender="male",
        address=Address("231-0023", "神奈川県", "横浜市中区", "山下町85番地"),
        municipality_code=YOKOHAMA,
        description_ja="横浜市 住民記録担当・こども家庭支援担当の係長（二人目の承認）",
        description_en=(
            "Supervisor at Yokohama City's resident registration and child support divisions"
        ),
    ),
    Persona(
        id="ito-ken",
        pin="9999",
        acr=ACR_CARD,
        family_name="伊藤",
        given_name="健",
        family_name_kana="イトウ",
        given_name_kana="ケン",
        birthdate="1975-11-03",
        gender="male",
        address=Address("101-0062", "東京都", "千代田区", "神田駿河台2丁目8番"),
        municipality_code=CHIYODA,
        description_ja="千代田区の管理者",
        description_en="Administrator of Chiyoda City",
    ),
    Persona(
        id="watanabe-yui",
        pin="0000",
        acr=ACR_CARD,
        family_name="渡辺",
        given_name="結衣",
        family_name_kana="ワタナベ",
        given_name_kana="ユイ",
        birthdate="1988-06-21",
        gender="female",
        address=Address("231-0023", "神奈川県", "横浜市中区", "山下町27番地"),
        municipality_code=YOKOHAMA,
        description_ja="ポータル全体の管理者",
        description_en="Administrator of the whole portal",
    ),
)

_BY_ID = {persona.id: persona for persona in PERSONAS}

#: Load-test residents (``DEVIDP_LOAD_PERSONAS``): ``load-0001`` and on, one PIN for all, so
#: a load test signs in thousands of distinct residents through the real sign-in form.
LOAD_PREFIX = "load-"
LOAD_PIN = "7777"
LOAD_PERSONAS_MAX = 100_000
_LOAD_ID = re.compile(r"load-([0-9]{4,6})")


def persona_by_id(persona_id: str, load_personas: int = 0) -> Persona | None:
    """A demo persona, or with ``load_personas`` > 0 one of that many load personas."""
    return _BY_ID.get(persona_id) or load_persona(persona_id, load_personas)


def load_persona_id(number: int) -> str:
    return f"{LOAD_PREFIX}{number:04d}"


def load_persona(persona_id: str, count: int) -> Persona | None:
    """``load-NNNN`` for 1 <= NNNN <= count: a Chiyoda resident, as 山田 太郎 is, so that the
    moving journey's answers recorded for one fit them all; only the ``sub`` differs."""
    found = _LOAD_ID.fullmatch(persona_id)
    if found is None or not 1 <= (number := int(found.group(1))) <= count:
        return None
    if load_persona_id(number) != persona_id:  # one spelling per persona: no load-00001
        return None
    return Persona(
        id=persona_id,
        pin=LOAD_PIN,
        acr=ACR_CARD,
        family_name="負荷",
        given_name="試験",
        family_name_kana="フカ",
        given_name_kana="シケン",
        birthdate=f"{1980 + number % 20}-{1 + number % 12:02d}-{1 + number % 28:02d}",
        gender="female" if number % 2 else "male",
        address=_KASUMIGASEKI,
        municipality_code=CHIYODA,
        description_ja=f"負荷試験用の住民 {number}（千代田区）",
        description_en=f"Load-test resident {number} of Chiyoda City",
        email=f"{persona_id}@load.example.jp",  # verified: e-mail notifications in one click
    )
