"""Revocation as a Token Status List: what a verifier downloads, checks and reads.

A verifier's journey: fetch ``/status-lists/<id>``, check the signature with the key published
at ``/.well-known/jwks.json``, decompress ``lst`` and read the bits at the certificate's index.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from dataclasses import replace

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from portal.certificates import statuslist, statuslist_keys
from portal.certificates.statuslist import FinalStatus, UnknownEntry
from portal.certificates.statuslist_models import Status, StatusList, StatusListEntry
from portal.extensions import db
from tests.factories import MunicipalityFactory

JWT = "application/statuslist+jwt"


@pytest.fixture
def city(app) -> int:
    with app.app_context():
        municipality = MunicipalityFactory(departments=[])
        db.session.commit()
        return municipality.id


def _allocate(app, municipality_id: int, count: int = 1) -> list[tuple[int, int]]:
    with app.app_context():
        handed = [statuslist.allocate(municipality_id) for _ in range(count)]
        db.session.commit()
    return handed


def _set(app, list_id: int, index: int, status: Status) -> None:
    with app.app_context():
        statuslist.set_status(list_id, index, status)
        db.session.commit()


def _verified(client, list_id: int) -> dict:
    """What a verifier does with the list: the draft's section 8.3, steps 2 to 5."""
    response = client.get(f"/status-lists/{list_id}", headers={"Accept": JWT})
    assert response.status_code == 200
    assert response.mimetype == JWT
    keys = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    token = jwt.decode(response.get_data(as_text=True), keys, algorithms=["ES256"])
    assert token.header["typ"] == "statuslist+jwt"
    assert token.header["kid"] == keys.keys[0].kid
    jwt.JWTClaimsRegistry(
        sub={"essential": True, "value": f"http://localhost/status-lists/{list_id}"},
        iat={"essential": True},
        exp={"essential": True},
    ).validate(token.claims)
    return token.claims


def _statuses(claims: dict) -> list[int]:
    """Every status in the list, by index (section 4.1, read as a verifier would)."""
    lst, bits = claims["status_list"]["lst"], claims["status_list"]["bits"]
    array = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    return [byte >> shift & ((1 << bits) - 1) for byte in array for shift in range(0, 8, bits)]


def _bits_at(claims: dict, index: int) -> int:
    return _statuses(claims)[index]


def test_the_drafts_examples_encode_as_the_draft_prints_them() -> None:
    """Section 4.1's two examples: 16 one-bit statuses, 12 two-bit ones."""
    one_bit = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    array = statuslist.pack(enumerate(one_bit), 16, 1)
    assert array == bytes([0xB9, 0xA3])
    assert statuslist.encode(array) == "eNrbuRgAAhcBXQ"
    two_bits = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    array = statuslist.pack(enumerate(two_bits), 12, 2)
    assert array == bytes([0xC9, 0x44, 0xF9])
    assert statuslist.encode(array) == "eNo76fITAAPfAgc"
    assert [statuslist.read(statuslist.decode("eNo76fITAAPfAgc"), i, 2) for i in range(12)] == (
        two_bits
    )
    with pytest.raises(IndexError):
        statuslist.read(array, 12, 2)


def test_a_verifier_reads_the_bit_of_an_index_before_and_after_revocation(
    app, client, city
) -> None:
    [(list_id, index)] = _allocate(app, city)
    claims = _verified(client, list_id)
    assert claims["status_list"]["bits"] == 2
    assert claims["ttl"] == app.config["STATUS_LIST_TTL"]
    assert claims["exp"] - claims["iat"] == statuslist.VALIDITY_SECONDS
    assert _bits_at(claims, index) == Status.VALID
    with app.app_context():
        assert statuslist.status_of(list_id, index) is Status.VALID

    _set(app, list_id, index, Status.INVALID)

    claims = _verified(client, list_id)
    assert _bits_at(claims, index) == Status.INVALID
    statuses = _statuses(claims)
    assert len(statuses) == app.config["STATUS_LIST_SIZE"]
    assert sum(statuses) == 1
    with app.app_context():
        assert statuslist.status_of(list_id, index) is Status.INVALID


def test_suspension_is_reversible_and_revocation_final(app, client, city) -> None:
    [(list_id, index)] = _allocate(app, city)
    _set(app, list_id, index, Status.SUSPENDED)
    assert _bits_at(_verified(client, list_id), index) == Status.SUSPENDED
    _set(app, list_id, index, Status.VALID)
    assert _bits_at(_verified(client, list_id), index) == Status.VALID
    _set(app, list_id, index, Status.INVALID)
    with app.app_context():
        with pytest.raises(FinalStatus):
            statuslist.set_status(list_id, index, Status.VALID)
        assert statuslist.set_status(list_id, index, Status.INVALID) is False
        db.session.rollback()
    assert _bits_at(_verified(client, list_id), index) == Status.INVALID


def test_only_handed_out_indices_have_a_status(app, city) -> None:
    [(list_id, index)] = _allocate(app, city)
    other = (index + 1) % app.config["STATUS_LIST_SIZE"]
    with app.app_context():
        with pytest.raises(UnknownEntry):
            statuslist.set_status(list_id, other, Status.INVALID)
        with pytest.raises(UnknownEntry):
            statuslist.status_of(list_id, other)
        with pytest.raises(UnknownEntry):
            statuslist.status_of(list_id + 1, index)


def test_indices_are_random_and_a_full_list_opens_the_next(app, city) -> None:
    """A small list filled to the last index: each index once, in no particular order, and
    the next certificate goes to a new list of the same municipality."""
    app.config["STATUS_LIST_SIZE"] = 64
    try:
        handed = _allocate(app, city, 65)
    finally:
        app.config["STATUS_LIST_SIZE"] = 131072
    first = [index for list_id, index in handed[:64]]
    assert sorted(first) == list(range(64))
    assert first != sorted(first)
    assert len({list_id for list_id, _ in handed[:64]}) == 1
    assert handed[64][0] != handed[0][0]
    with app.app_context():
        lists = db.session.scalars(select(StatusList).order_by(StatusList.id)).all()
        assert [(s.municipality_id, s.size, s.allocated) for s in lists] == [
            (city, 64, 64),
            (city, 64, 1),
        ]


def test_each_municipality_has_its_own_lists(app, city) -> None:
    with app.app_context():
        other = MunicipalityFactory(departments=[]).id
        db.session.commit()
    [(mine, _)] = _allocate(app, city)
    [(theirs, _)] = _allocate(app, other)
    assert mine != theirs


def test_the_list_is_served_for_caches_and_browsers(app, client, city) -> None:
    [(list_id, _)] = _allocate(app, city)
    response = client.get(f"/status-lists/{list_id}")
    assert response.status_code == 200
    assert response.mimetype == JWT  # without Accept: the token
    max_age = int(response.headers["Cache-Control"].removeprefix("public, max-age="))
    assert 0 < max_age <= app.config["STATUS_LIST_TTL"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Accept" in response.headers["Vary"]
    etag = response.headers["ETag"]
    assert etag.startswith('W/"')

    again = client.get(f"/status-lists/{list_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    modified = response.headers["Last-Modified"]
    since = client.get(f"/status-lists/{list_id}", headers={"If-Modified-Since": modified})
    assert since.status_code == 304

    [(same_list, index)] = _allocate(app, city)
    assert same_list == list_id
    _set(app, list_id, index, Status.INVALID)
    changed = client.get(f"/status-lists/{list_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_the_unsigned_form_for_readers_and_nothing_else(app, client, city) -> None:
    [(list_id, index)] = _allocate(app, city)
    _set(app, list_id, index, Status.INVALID)
    response = client.get(
        f"/status-lists/{list_id}", headers={"Accept": "application/statuslist+json"}
    )
    assert response.status_code == 200
    assert response.mimetype == "application/statuslist+json"
    claims = json.loads(response.data)
    assert claims == _verified(client, list_id)
    assert _bits_at(claims, index) == Status.INVALID
    refused = client.get(
        f"/status-lists/{list_id}", headers={"Accept": "application/statuslist+cwt"}
    )
    assert refused.status_code == 406
    assert refused.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/status-lists/999999", "/status-lists/99999999999999"])
def test_an_unknown_list_is_not_found(client, path) -> None:
    response = client.get(path, headers={"Accept": JWT})
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_a_new_token_when_the_ttl_ran_out(app, client, city) -> None:
    [(list_id, _)] = _allocate(app, city)
    signed = client.get(f"/status-lists/{list_id}")
    first = signed.get_data(as_text=True)
    assert client.get(f"/status-lists/{list_id}").get_data(as_text=True) == first
    with app.app_context():
        stamp, kept = app.extensions["status_list_tokens"][list_id]
        assert kept.fresh_for(time.time() + app.config["STATUS_LIST_TTL"]) == 0
        app.extensions["status_list_tokens"][list_id] = (
            stamp,
            replace(
                kept,
                claims={**kept.claims, "iat": kept.issued_at - app.config["STATUS_LIST_TTL"]},
            ),
        )
    again = client.get(f"/status-lists/{list_id}")
    assert again.get_data(as_text=True) != first
    # Signed at another moment, as another process signs it: the same validators.
    assert again.headers["ETag"] == signed.headers["ETag"]
    assert again.headers["Last-Modified"] == signed.headers["Last-Modified"]


def test_the_key_is_made_once_and_published(app, client, runner, tmp_path) -> None:
    path = tmp_path / "key.pem"
    app.config["STATUS_LIST_KEY_FILE"] = str(path)
    try:
        assert "written" in runner.invoke(args=["status-lists", "init-key"]).output
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        pem = path.read_bytes()
        assert "kept" in runner.invoke(args=["status-lists", "init-key"]).output
        assert path.read_bytes() == pem
        published = client.get("/.well-known/jwks.json")
        assert published.mimetype == "application/jwk-set+json"
        [key] = published.get_json()["keys"]
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
        assert "d" not in key
        with app.test_request_context():
            assert key["kid"] == statuslist_keys.signing_key().thumbprint()
    finally:
        app.config["STATUS_LIST_KEY_FILE"] = ""


@pytest.mark.postgresql
def test_concurrent_allocations_never_share_an_index(app, city) -> None:
    """Allocations racing in threads, each its own transaction on PostgreSQL: every index
    once, and one list opened for all (the first allocation opens it while the rest wait)."""
    writers = 12
    per_writer = 5
    barrier = threading.Barrier(writers)
    handed: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def allocate() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                for _ in range(per_writer):
                    handed.append(statuslist.allocate(city))
                    time.sleep(0.005)  # hold the lock while the others queue
                    db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=allocate) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(handed) == len(set(handed)) == writers * per_writer
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusList)) == 1
        assert db.session.scalar(select(StatusList.allocated)) == writers * per_writer
        assert db.session.scalar(select(func.count()).select_from(StatusListEntry)) == (
            writers * per_writer
        )


@pytest.mark.postgresql
def test_concurrent_revocations_all_reach_the_list(app, client, city) -> None:
    """Clerks revoking different certificates of one list at once: none is lost."""
    handed = _allocate(app, city, 10)
    barrier = threading.Barrier(len(handed))
    errors: list[BaseException] = []

    def revoke(list_id: int, index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                statuslist.set_status(list_id, index, Status.INVALID)
                time.sleep(0.005)
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=revoke, args=pair) for pair in handed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    claims = _verified(client, handed[0][0])
    assert all(_bits_at(claims, index) == Status.INVALID for _, index in handed)
    with app.app_context():
        assert db.session.get(StatusList, handed[0][0]).version == 1 + len(handed)


def test_production_refuses_to_start_without_its_signing_key(tmp_path) -> None:
    from joserfc.jwk import RSAKey

    from portal import create_app
    from portal.config import UnsafeConfiguration
    from tests.test_config import SAFE_PRODUCTION

    rsa = tmp_path / "rsa.pem"
    rsa.write_bytes(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    for path, why in [
        ("", "PORTAL_STATUS_LIST_KEY_FILE: the PEM file"),
        (tmp_path / "none.pem", "not a readable"),
        (rsa, "not a readable"),
    ]:
        with pytest.raises(UnsafeConfiguration, match=why):
            create_app({**SAFE_PRODUCTION, "STATUS_LIST_KEY_FILE": str(path)})
    assert not (tmp_path / "none.pem").exists()  # production never makes one up


def test_a_credentials_status_claim_names_the_token(app, client, city) -> None:
    """Section 6.1: a credential's ``status.status_list`` has the index and the URI that is
    the token's ``sub``; from the claim alone a verifier finds the bits."""
    [(list_id, index)] = _allocate(app, city)
    _set(app, list_id, index, Status.SUSPENDED)
    with app.test_request_context():
        claim = statuslist.status_claim(list_id, index)["status_list"]
    assert claim["idx"] == index
    response = client.get(claim["uri"], headers={"Accept": JWT})
    claims = _verified(client, list_id)
    assert claims["sub"] == claim["uri"]
    assert response.status_code == 200
    assert _bits_at(claims, claim["idx"]) == Status.SUSPENDED
