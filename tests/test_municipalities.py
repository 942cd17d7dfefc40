"""Every municipality of Japan, loaded once from Japan Post's data: counts, known codes and
names in both languages, and a second load that changes nothing."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from portal.extensions import db
from portal.tenancy.models import Municipality, MunicipalityKind
from portal.tenancy.official import official_municipalities, romanized, seat_code

KNOWN = {
    # code: (kind, Japanese, English, the designated city of a ward)
    "131016": ("special_ward", "千代田区", "Chiyoda City, Tokyo", None),
    "131024": ("special_ward", "中央区", "Chuo City, Tokyo", None),
    "141003": ("designated_city", "横浜市", "Yokohama City, Kanagawa", None),
    "141046": ("ward", "横浜市中区", "Naka Ward, Yokohama City, Kanagawa", "141003"),
    "271004": ("designated_city", "大阪市", "Osaka City, Osaka", None),
    "271276": ("ward", "大阪市北区", "Kita Ward, Osaka City, Osaka", "271004"),
    "221309": ("designated_city", "浜松市", "Hamamatsu City, Shizuoka", None),
    "011002": ("designated_city", "札幌市", "Sapporo City, Hokkaido", None),
    "282014": ("city", "姫路市", "Himeji City, Hyogo", None),
    "133035": ("town", "西多摩郡瑞穂町", "Mizuho Town, Tokyo", None),
    "473111": ("village", "国頭郡恩納村", "Onna Village, Okinawa", None),
}


def _rows() -> dict[str, Municipality]:
    return {m.code: m for m in db.session.scalars(select(Municipality))}


def test_every_municipality_of_japan_is_loaded_once(app, runner, municipalities) -> None:
    first = runner.invoke(args=["municipalities", "load"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        rows = _rows()
        kinds = Counter(m.kind.value for m in rows.values())
        # 1,741 municipalities (792 cities of which 20 designated, 743 towns, 183 villages,
        # Tokyo's 23 special wards) and the 171 wards of the designated cities.
        assert len(rows) - kinds["ward"] == 1741
        assert kinds == {
            "city": 772,
            "designated_city": 20,
            "town": 743,
            "village": 183,
            "special_ward": 23,
            "ward": 171,
        }
        for code, (kind, name_ja, name_en, parent) in KNOWN.items():
            municipality = rows[code]
            assert municipality.kind.value == kind, code
            assert (municipality.name_ja, municipality.name_en) == (name_ja, name_en), code
            assert (municipality.parent.code if municipality.parent else None) == parent, code
        assert rows["141046"].prefecture_ja == "神奈川県"
        # The demo's departments stay where they were, with Yokohama's 18 wards under it.
        assert {d.kind for d in rows["141003"].departments} >= {"resident_registration"}
        assert sum(1 for m in rows.values() if m.parent_id == rows["141003"].id) == 18
        assert not rows["271004"].is_served and rows["141046"].is_served
        names = {code: (m.name_ja, m.name_en, m.parent_id) for code, m in rows.items()}

    second = runner.invoke(args=["municipalities", "load"])
    assert second.exit_code == 0, second.output
    assert "(0 new)" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Municipality.id))) == len(names)
        assert {c: (m.name_ja, m.name_en, m.parent_id) for c, m in _rows().items()} == names


def test_codes_carry_their_check_digit_and_are_unique() -> None:
    from portal.japan.postal import municipality_code

    codes = [m.code for m in official_municipalities()]
    assert len(codes) == len(set(codes)) == 1912
    assert all(municipality_code(code[:5]) == code for code in codes)


def test_a_ward_belongs_to_its_designated_city() -> None:
    assert seat_code("141046") == seat_code("141038") == "141003"  # 中区, 西区: 横浜市
    assert seat_code("131016") == "131016"
    wards = [m for m in official_municipalities() if m.kind is MunicipalityKind.WARD]
    cities = {m.code for m in official_municipalities() if m.kind.value == "designated_city"}
    assert {m.parent_code for m in wards} == cities


def test_readings_are_romanized_as_passports_write_them() -> None:
    assert romanized("トウキョウ") == "Tokyo"
    assert romanized("オオサカ") == "Osaka"
    assert romanized("チュウオウ") == "Chuo"
    assert romanized("ホッカイドウ") == "Hokkaido"
    assert romanized("シンジュク") == "Shinjuku"
