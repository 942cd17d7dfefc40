"""Accounts are keyed by the provider's (issuer, subject), and made once however many arrive."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.accounts import services as accounts
from portal.accounts.models import Account
from portal.extensions import db

CLAIMS = {
    "iss": "https://id.example.jp",
    "sub": "pairwise-1",
    "name": "山田 太郎",
    "name#ja-Kana-JP": "ヤマダ タロウ",
    "birthdate": "1985-04-12",
    "acr": "urn:madoguchi:acr:mynumber-card",
    "nonce": "not kept",
    "email": "not verified, not kept",
}


def test_sign_in_keeps_only_the_identity_claims_it_needs(app) -> None:
    with app.app_context():
        account = accounts.record_sign_in("https://id.example.jp", "pairwise-1", CLAIMS)
        db.session.commit()
        assert account.display_name == "山田 太郎"
        assert set(account.identity) == {"name", "name#ja-Kana-JP", "birthdate"}
        assert account.last_acr == CLAIMS["acr"]


def test_a_verified_email_is_kept_for_the_mailbox(app) -> None:
    claims = {**CLAIMS, "email": " taro@example.jp ", "email_verified": True}
    with app.app_context():
        account = accounts.record_sign_in("https://id.example.jp", "pairwise-2", claims)
        assert account.identity["email"] == "taro@example.jp"


def test_same_subject_at_another_issuer_is_another_account(app) -> None:
    with app.app_context():
        one = accounts.record_sign_in("https://id.example.jp", "same", CLAIMS)
        other = accounts.record_sign_in("https://other-id.example.jp", "same", CLAIMS)
        db.session.commit()
        assert one.id != other.id


@pytest.mark.postgresql
def test_simultaneous_first_sign_ins_make_one_account(app) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def sign_in() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                accounts.record_sign_in("https://id.example.jp", "racing", CLAIMS)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sign_in) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Account).filter_by(subject="racing")
        )
        assert count == 1


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"family_name": "山田", "given_name": "太郎"},
            {"family_name": "山田", "given_name": "太郎", "name": "山田 太郎"},
        ),
        (
            {"family_name#ja-Kana-JP": "ヤマダ", "given_name#ja-Kana-JP": "タロウ"},
            {
                "family_name#ja-Kana-JP": "ヤマダ",
                "given_name#ja-Kana-JP": "タロウ",
                "name#ja-Kana-JP": "ヤマダ タロウ",
            },
        ),
        ({"address": "東京都千代田区"}, {"address": {"formatted": "東京都千代田区"}}),
        (
            {"address": {"postal_code": "100-0013", "region": "東京都", "locality": "千代田区"}},
            {
                "address": {
                    "postal_code": "100-0013",
                    "region": "東京都",
                    "locality": "千代田区",
                    "formatted": "〒100-0013 東京都千代田区",
                }
            },
        ),
        ({"birthdate": "0000-04-12", "gender": ["male"], "name": " "}, {}),
        ({"birthdate": "1985", "address": 7, "nickname": "taro"}, {}),
    ],
)
def test_identity_keeps_what_can_be_read(claims: dict, expected: dict) -> None:
    assert accounts.identity_from_claims(claims) == expected
