"""What residents type in Japanese input modes comes out clean, or with a message to fix it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask
from flask_babel import Babel, force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.japan.values import (
    InvalidValue,
    check_date_range,
    is_blank,
    normalize_choice,
    normalize_choices,
    normalize_digits,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
    normalize_time,
    parse_date,
    parse_number,
    parse_yes_no,
)

NO_DATABASE = settings(database=None)


def message_of(call: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    """The English message (no request, so no translation) that ``call`` refuses with."""
    with pytest.raises(InvalidValue) as caught:
        call(*args, **kwargs)
    return str(caught.value.message)


# --- normalize_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  こんにちは ", "こんにちは"),
        ("東京都\u3000\u3000千代田区", "東京都 千代田区"),  # ideographic spaces
        ("line\tone\nline two", "line one line two"),
        ("ｶﾞｽ代", "ガス代"),  # half-width katakana, voiced mark joined
        ("cafe\u0301", "café"),  # NFC
        ("zero\u200bwidth\ufeff", "zerowidth"),  # invisible characters from copied text
        ("", ""),
        (None, ""),
        ("\u3000 \t", ""),
    ],
)
def test_normalize_text(raw: str | None, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_normalize_text_keeps_lines_when_asked() -> None:
    raw = "\n 1行目\u3000です \r\n\r\n\r\n\r\n2行目\n"
    assert normalize_text(raw, multiline=True) == "1行目 です\n\n2行目"


@pytest.mark.parametrize("raw", ["bell\x07", "nul\x00", "del\x7f", "over\u202eride", "c1\x9b"])
def test_normalize_text_refuses_control_characters(raw: str) -> None:
    assert message_of(normalize_text, raw).startswith("Remove the control characters")


def test_normalize_text_counts_characters_after_normalizing() -> None:
    assert normalize_text(" あいう\u3000", max_length=3) == "あいう"
    assert message_of(normalize_text, "あいうえ", max_length=3) == (
        "The answer must be 3 characters or fewer"
    )


# --- normalize_name -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("山田　太郎", "山田 太郎"),
        (" 山田  太郎 ", "山田 太郎"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("やまだ たろう", "やまだ たろう"),
        ("佐々木 ヶ原", "佐々木 ヶ原"),
        ("Ｔａｒｏ Ｙａｍａｄａ", "Taro Yamada"),
        ("O’Brien", "O'Brien"),  # a phone's curly apostrophe
        ("Ｏ＇Ｂｒｉｅｎ", "O'Brien"),
        ("Smithーjones", "Smith-jones"),  # the hyphen key types ー in Japanese mode
        ("Mary-Jane", "Mary-Jane"),
        ("カ－タ－", "カーター"),  # full-width hyphen-minus after katakana is the long mark
        ("メアリー", "メアリー"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"),
        ("ジョン·スミス", "ジョン・スミス"),
        ("J. R. Smith", "J. R. Smith"),
        ("José", "José"),
        ("김민준", "김민준"),
        ("NGUYỄN Văn An", "NGUYỄN Văn An"),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the name"),
        ("\u3000", "Enter the name"),
        (None, "Enter the name"),
        ("太郎2", "The name must not include numbers"),
        ("太郎２", "The name must not include numbers"),
        ("山田、太郎", "The name must only include letters"),
        ("Taro!", "The name must only include letters"),
        ("Taro@example", "The name must only include letters"),
        ("Yamada, Taro", "The name must only include letters"),
        ("太郎😀", "The name must only include letters"),
        ("・", "The name must only include letters"),
        ("-", "The name must only include letters"),
    ],
)
def test_normalize_name_refuses(raw: str | None, message: str) -> None:
    assert message_of(normalize_name, raw).startswith(message)


def test_normalize_name_limits_length() -> None:
    assert normalize_name("山" * 100) == "山" * 100
    assert message_of(normalize_name, "山" * 101) == "The name must be 100 characters or fewer"
    assert message_of(normalize_name, "山田太郎", max_length=3) == (
        "The name must be 3 characters or fewer"
    )


# --- normalize_kana -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("やまだ　たろう", "ヤマダ タロウ"),
        ("ヤマダ タロウ", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"),
        ("めありー", "メアリー"),
        ("メアリ-", "メアリー"),  # any dash in a reading is the long mark
        ("メアリ－", "メアリー"),
        ("ゔぁいおりん", "ヴァイオリン"),
        ("さゝき", "サヽキ"),
        ("カ゛ス", "ガス"),  # the spacing voiced mark joins the kana
        ("  ヤマダ   タロウ ", "ヤマダ タロウ"),
    ],
)
def test_normalize_kana(raw: str, expected: str) -> None:
    assert normalize_kana(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the reading in katakana or hiragana"),
        ("\u3000", "Enter the reading in katakana or hiragana"),
        ("山田", "The reading must only include katakana or hiragana, like ヤマダ タロウ"),
        ("yamada", "The reading must only include katakana or hiragana, like ヤマダ タロウ"),
        ("ヤマダ1", "The reading must only include katakana or hiragana, like ヤマダ タロウ"),
        (
            "ヤマダ、タロウ",
            "The reading must only include katakana or hiragana, like ヤマダ タロウ",
        ),
    ],
)
def test_normalize_kana_refuses(raw: str, message: str) -> None:
    assert message_of(normalize_kana, raw) == message


def test_normalize_kana_limits_length() -> None:
    assert message_of(normalize_kana, "ア" * 4, max_length=3) == (
        "The reading must be 3 characters or fewer"
    )


# --- parse_date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("2026", "4", "1"), date(2026, 4, 1)),
        (("2026", "04", "01"), date(2026, 4, 1)),
        (("２０２６", "４", "１"), date(2026, 4, 1)),
        ((" 2026\u3000", " 12 ", "31 "), date(2026, 12, 31)),
        (("2024", "2", "29"), date(2024, 2, 29)),
        (("2026年", "4月", "1日"), date(2026, 4, 1)),
        # The Japanese calendar: kanji, letters, full width, 元年, the era's own characters.
        (("令和8", "4", "1"), date(2026, 4, 1)),
        (("令和8年", "4", "1"), date(2026, 4, 1)),
        (("R8", "4", "1"), date(2026, 4, 1)),
        (("r.8", "4", "1"), date(2026, 4, 1)),
        (("Ｒ８", "４", "１"), date(2026, 4, 1)),
        (("令和０８", "4", "1"), date(2026, 4, 1)),
        (("㋿8", "4", "1"), date(2026, 4, 1)),
        (("令和元年", "5", "1"), date(2019, 5, 1)),
        (("令和1", "5", "1"), date(2019, 5, 1)),
        (("平成31年", "4", "30"), date(2019, 4, 30)),
        (("H31", "4", "30"), date(2019, 4, 30)),
        (("㍻31", "4", "30"), date(2019, 4, 30)),
        (("平成元年", "1", "8"), date(1989, 1, 8)),
        (("昭和64", "1", "7"), date(1989, 1, 7)),
        (("S60", "3", "3"), date(1985, 3, 3)),
        (("大正元年", "7", "30"), date(1912, 7, 30)),
        (("T15", "12", "24"), date(1926, 12, 24)),
        (("明治45", "7", "29"), date(1912, 7, 29)),
        (("M1", "1", "25"), date(1868, 1, 25)),
    ],
)
def test_parse_date(parts: tuple[str, str, str], expected: date) -> None:
    assert parse_date(*parts) == expected


@pytest.mark.parametrize(
    "parts",
    [
        ("平成31", "5", "1"),  # 平成 ended on 30 April 2019: refused, not moved to 令和
        ("令和元年", "4", "30"),  # 令和 began on 1 May 2019
        ("平成32", "1", "1"),
        ("平成元年", "1", "7"),
        ("昭和64", "1", "8"),
        ("大正元年", "7", "29"),
        ("明治1", "1", "24"),
    ],
)
def test_an_era_date_must_fall_within_its_era(parts: tuple[str, str, str]) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_date(*parts)
    assert caught.value.fields == ("year", "month", "day")


@pytest.mark.parametrize(
    ("parts", "fields"),
    [
        (("X8", "4", "1"), ("year",)),
        (("令和", "4", "1"), ("year",)),
        (("令和0", "4", "1"), ("year",)),
        (("令和100", "4", "1"), ("year",)),
        (("2026", "1" * 5000, "1"), ("month",)),
        (("2026", "1", "1" * 5000), ("day",)),
        (("1" * 5000, "1", "1"), ("year",)),
        (("2026", "\u0663", "1"), ("month",)),  # Arabic-Indic three: a digit, not 0-9
    ],
)
def test_parse_date_refuses_what_is_no_year_or_too_long(parts, fields) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_date(*parts)
    assert caught.value.fields == fields


@pytest.mark.parametrize(
    ("parts", "message", "fields"),
    [
        (("", "", ""), "Enter the date", ("day", "month", "year")),
        ((None, " ", "\u3000"), "Enter the date", ("day", "month", "year")),
        (("2026", "", "1"), "The date must include a month", ("month",)),
        (("2026", "4", ""), "The date must include a day", ("day",)),
        (("", "4", "1"), "The date must include a year", ("year",)),
        (("2026", "", ""), "The date must include a day and month", ("day", "month")),
        (("", "4", ""), "The date must include a day and year", ("day", "year")),
        (("", "", "1"), "The date must include a month and year", ("month", "year")),
        (("2026", "2", "30"), "Enter a real date", ("day",)),
        (("2025", "2", "29"), "Enter a real date", ("day",)),
        (("2026", "13", "1"), "Enter a real date", ("month",)),
        (("2026", "0", "1"), "Enter a real date", ("month",)),
        (("2026", "四", "1"), "Enter a real date", ("month",)),
        (("2026", "4", "1日?"), "Enter a real date", ("day",)),
        (("2026", "-4", "1"), "Enter a real date", ("month",)),
        (("0000", "4", "1"), "Enter a real date", ("year",)),
        (
            ("7", "4", "1"),
            "Enter the year as 4 digits in the Western calendar, like 2026",
            ("year",),
        ),
        (
            ("26", "4", "1"),
            "Enter the year as 4 digits in the Western calendar, like 2026",
            ("year",),
        ),
        (
            ("20260", "4", "1"),
            "Enter the year as 4 digits in the Western calendar, like 2026",
            ("year",),
        ),
    ],
)
def test_parse_date_refuses(
    parts: tuple[str | None, str | None, str | None], message: str, fields: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_date(*parts)
    assert str(caught.value.message) == message
    assert caught.value.fields == fields


# --- check_date_range -------------------------------------------------------------------------

TODAY = date(2026, 4, 15)


@pytest.mark.parametrize(
    ("value", "limits"),
    [
        (TODAY, {"not_after_today": True}),
        (date(2026, 4, 14), {"not_after_today": True}),
        (TODAY, {"not_before_today": True}),
        (date(2026, 4, 1), {"max_days_before_today": 14}),
        (date(2026, 4, 29), {"max_days_after_today": 14}),
        (date(2030, 1, 1), {}),
    ],
)
def test_check_date_range_accepts(value: date, limits: dict[str, object]) -> None:
    assert check_date_range(value, today=TODAY, **limits) == value


@pytest.mark.parametrize(
    ("value", "limits", "message"),
    [
        (date(2026, 4, 16), {"not_after_today": True}, "The date must be today or in the past"),
        (date(2026, 4, 14), {"not_before_today": True}, "The date must be today or in the future"),
    ],
)
def test_check_date_range_refuses(value: date, limits: dict[str, object], message: str) -> None:
    assert message_of(check_date_range, value, today=TODAY, **limits) == message


def test_check_date_range_defaults_to_today_in_japan() -> None:
    with pytest.raises(InvalidValue):
        check_date_range(date(9999, 12, 31), not_after_today=True)
    assert check_date_range(date(2000, 1, 1), not_after_today=True) == date(2000, 1, 1)


# --- postal codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "1000013",
        "100-0013",
        "１００－００１３",
        "１００００１３",
        "〒100-0013",
        "〒 １００ー００１３",  # the hyphen key types ー in Japanese mode
        " 100 0013 ",
        "100‐0013",
        "100−0013",
    ],
)
def test_normalize_postal_code(raw: str) -> None:
    assert normalize_postal_code(raw) == "100-0013"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a postal code"),
        ("\u3000", "Enter a postal code"),
        ("100-001", "Enter the postal code as 7 digits, like 100-0013"),
        ("100-00134", "Enter the postal code as 7 digits, like 100-0013"),
        ("100-00l3", "Enter the postal code as 7 digits, like 100-0013"),
        ("千代田区", "Enter the postal code as 7 digits, like 100-0013"),
        ("١٠٠٠٠١٣", "Enter the postal code as 7 digits, like 100-0013"),  # Arabic-Indic digits
    ],
)
def test_normalize_postal_code_refuses(raw: str, message: str) -> None:
    assert message_of(normalize_postal_code, raw) == message


# --- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03-1234-5678", "0312345678"),
        ("０３－１２３４－５６７８", "0312345678"),
        ("03(1234)5678", "0312345678"),
        ("(03) 1234-5678", "0312345678"),
        ("０３（１２３４）５６７８", "0312345678"),
        ("090-1234-5678", "09012345678"),
        ("090ー1234ー5678", "09012345678"),
        ("09012345678", "09012345678"),
        ("0120-123-456", "0120123456"),
        ("0800-123-4567", "08001234567"),
        ("050 1234 5678", "05012345678"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81 (0)3-1234-5678", "0312345678"),
        ("＋８１９０１２３４５６７８", "09012345678"),
        ("011-234-5678", "0112345678"),  # Sapporo: a 3-digit area code
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


FORMAT = "Enter a phone number in Japan, using numbers and hyphens only, like 090-1234-5678"
LENGTH = "Enter the phone number as 10 or 11 digits, with the area code, like 03-1234-5678"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a phone number"),
        ("03-1234-567a", FORMAT),
        ("+1 212 555 0100", FORMAT),
        ("03-1234-5678 内線12", FORMAT),
        ("1234-5678", LENGTH),  # no area code
        ("03-1234-567", LENGTH),
        ("03-1234-56789", LENGTH),  # a landline has 10 digits
        ("090-1234-56789", LENGTH),
        ("0012-345-6789", LENGTH),
        ("010-1234-5678", LENGTH),  # the international prefix
        ("3-1234-5678", LENGTH),
    ],
)
def test_normalize_phone_refuses(raw: str, message: str) -> None:
    assert message_of(normalize_phone, raw) == message


@pytest.mark.parametrize("raw", ["020-123-4567", "0800-123-456", "099-1234-5678"])
def test_a_number_not_in_japan_s_numbering_plan_is_refused(raw: str) -> None:
    assert message_of(normalize_phone, raw) == LENGTH


# --- times and codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14:05", "14:05"),
        ("１４：０５", "14:05"),
        ("9:05", "09:05"),
        ("0:00", "00:00"),
        ("23:59", "23:59"),
        ("14時05分", "14:05"),
        ("1405", "14:05"),
        (" 14 : 05 ", "14:05"),
    ],
)
def test_normalize_time(raw: str, expected: str) -> None:
    assert normalize_time(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a time"),
        ("25:99", "Enter a real time: hours from 0 to 23 and minutes from 00 to 59"),
        ("24:00", "Enter a real time: hours from 0 to 23 and minutes from 00 to 59"),
        ("14:60", "Enter a real time: hours from 0 to 23 and minutes from 00 to 59"),
        ("14:5", "Enter the time on the 24-hour clock, like 14:05"),
        ("2pm", "Enter the time on the 24-hour clock, like 14:05"),
        ("1" * 5000, "Enter the time on the 24-hour clock, like 14:05"),
    ],
)
def test_normalize_time_refuses(raw: str, message: str) -> None:
    assert message_of(normalize_time, raw) == message


def test_normalize_digits_keeps_zeros_and_refuses_letters() -> None:
    assert normalize_digits("０１２３４５６", minimum=7, maximum=7) == "0123456"
    assert normalize_digits("012-3456", minimum=7, maximum=7) == "0123456"
    assert message_of(normalize_digits, "abcdefg", minimum=7, maximum=7) == (
        "Enter numbers only, like 1234567"
    )
    assert message_of(normalize_digits, "123456", minimum=7, maximum=7) == "Enter 7 digits"
    assert message_of(normalize_digits, "12", minimum=3) == "Enter 3 digits or more"
    assert message_of(normalize_digits, "1234", maximum=3) == "Enter 3 digits or fewer"
    assert message_of(normalize_digits, "") == "Enter the number"
    assert normalize_digits("9" * 5000) == "9" * 5000  # a code is never converted


# --- email ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taro@example.jp", "taro@example.jp"),
        ("  Taro.Yamada@Example.CO.JP\u3000", "Taro.Yamada@example.co.jp"),  # only the domain
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("taro@example。jp", "taro@example.jp"),  # Japanese mode types 。 for .
        ("yamadaーtaro@example.jp", "yamada-taro@example.jp"),
        ("taro+portal@example.jp", "taro+portal@example.jp"),
        ("taro..yamada.@docomo.ne.jp", "taro..yamada.@docomo.ne.jp"),  # old mobile addresses
        ("info@例え.jp", "info@例え.jp"),
    ],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


CORRECT_FORMAT = "Enter an email address in the correct format, like name@example.com"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter an email address"),
        ("\u3000", "Enter an email address"),
        ("taro", CORRECT_FORMAT),
        ("taro@", CORRECT_FORMAT),
        ("@example.jp", CORRECT_FORMAT),
        ("taro@example", CORRECT_FORMAT),
        ("taro@@example.jp", CORRECT_FORMAT),
        ("taro@a@example.jp", CORRECT_FORMAT),
        ("ta ro@example.jp", CORRECT_FORMAT),
        ("taro@exa mple.jp", CORRECT_FORMAT),
        ("taro@example..jp", CORRECT_FORMAT),
        ("taro@.example.jp", CORRECT_FORMAT),
        ("taro@example.jp.", CORRECT_FORMAT),
        ("taro@-example.jp", CORRECT_FORMAT),
        ("taro@exam_ple.jp", CORRECT_FORMAT),
        ("<taro>@example.jp", CORRECT_FORMAT),
        ("t" * 65 + "@example.jp", CORRECT_FORMAT),
        ("t@" + ("e" * 62 + ".") * 4 + "jp", "The email address must be 254 characters or fewer"),
    ],
)
def test_normalize_email_refuses(raw: str, message: str) -> None:
    assert message_of(normalize_email, raw) == message


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"),
    [
        ("1500", {"integer": True}, 1500),
        ("１５００", {"integer": True}, 1500),
        ("1,500", {"integer": True}, 1500),
        ("１，５００，０００", {"integer": True}, 1500000),
        (" 1 500 ", {"integer": True}, 1500),
        ("-3", {"integer": True}, -3),
        ("－３", {"integer": True}, -3),
        ("−3", {"integer": True}, -3),
        ("0", {"integer": True, "minimum": 0}, 0),
        ("12.5", {}, Decimal("12.5")),
        ("１２．５", {}, Decimal("12.5")),
        ("1,234.50", {}, Decimal("1234.50")),
        ("7", {}, Decimal("7")),
        ("10", {"integer": True, "minimum": 1, "maximum": 10}, 10),
    ],
)
def test_parse_number(raw: str, kwargs: dict[str, object], expected: int | Decimal) -> None:
    value = parse_number(raw, **kwargs)
    assert value == expected
    assert type(value) is type(expected)


WHOLE = "Enter a whole number using digits, like 1500"
DECIMAL = "Enter a number using digits, like 1500 or 12.5"


@pytest.mark.parametrize(
    ("raw", "kwargs", "message"),
    [
        ("", {}, "Enter a number"),
        ("\u3000", {"integer": True}, "Enter a number"),
        ("12.5", {"integer": True}, WHOLE),
        ("12.0", {"integer": True}, WHOLE),
        ("千五百", {"integer": True}, WHOLE),
        ("1,50", {"integer": True}, WHOLE),
        ("1,5000", {"integer": True}, WHOLE),
        (",500", {"integer": True}, WHOLE),
        ("1e3", {}, DECIMAL),
        ("NaN", {}, DECIMAL),
        ("Infinity", {}, DECIMAL),
        (".5", {}, DECIMAL),
        ("5.", {}, DECIMAL),
        ("1500円", {}, DECIMAL),
        ("٣", {}, DECIMAL),  # an Arabic-Indic digit, which int() would take
        ("0", {"integer": True, "minimum": 1}, "The number must be 1 or more"),
        ("1000001", {"integer": True, "maximum": 1000000}, "The number must be 1,000,000 or less"),
        ("0", {"minimum": 1, "maximum": 10}, "The number must be between 1 and 10"),
        ("11", {"minimum": 1, "maximum": 10}, "The number must be between 1 and 10"),
        ("0.4", {"minimum": Decimal("0.5")}, "The number must be 0.5 or more"),
    ],
)
def test_parse_number_refuses(raw: str, kwargs: dict[str, object], message: str) -> None:
    assert message_of(parse_number, raw, **kwargs) == message


# --- choices ---------------------------------------------------------------------------

OPTIONS = ("resident", "owner", "other")


@pytest.mark.parametrize(("raw", "expected"), [("owner", "owner"), (" other ", "other")])
def test_normalize_choice(raw: str, expected: str) -> None:
    assert normalize_choice(raw, OPTIONS) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Select an option"),
        (None, "Select an option"),
        ("landlord", "Select from the options shown"),
        ("Owner", "Select from the options shown"),
    ],
)
def test_normalize_choice_refuses(raw: str | None, message: str) -> None:
    assert message_of(normalize_choice, raw, iter(OPTIONS)) == message


def test_normalize_choices_keeps_the_order_of_the_options_without_repeats() -> None:
    assert normalize_choices(["other", "resident", "other", ""], OPTIONS) == ["resident", "other"]
    assert normalize_choices(iter(["owner"]), iter(OPTIONS)) == ["owner"]


@pytest.mark.parametrize(
    ("raws", "message"),
    [
        ([], "Select at least one option"),
        (["", None], "Select at least one option"),
        (["owner", "landlord"], "Select from the options shown"),
    ],
)
def test_normalize_choices_refuses(raws: list[str | None], message: str) -> None:
    assert message_of(normalize_choices, raws, OPTIONS) == message


@pytest.mark.parametrize(("raw", "expected"), [("yes", True), ("no", False), (" YES ", True)])
def test_parse_yes_no(raw: str, expected: bool) -> None:
    assert parse_yes_no(raw) is expected


@pytest.mark.parametrize("raw", ["", None, "maybe", "はい", "true"])
def test_parse_yes_no_refuses(raw: str | None) -> None:
    assert message_of(parse_yes_no, raw) == "Select yes or no"


@pytest.mark.parametrize(
    ("raw", "blank"), [(None, True), ("", True), ("\u3000 ", True), ("a", False)]
)
def test_is_blank(raw: str | None, blank: bool) -> None:
    assert is_blank(raw) is blank


# --- messages are translated when shown, in the resident's language ------------------------


@pytest.fixture
def japanese_app(tmp_path: Path) -> Flask:
    """A tiny app whose Japanese catalog has two of our messages: the project's catalogs
    are tested elsewhere, this tests that the messages are lazy."""
    catalog = Catalog(locale="ja")
    catalog.add("Enter a postal code", "郵便番号を入力してください")
    catalog.add(
        "The name must be %(max)d characters or fewer", "名前は%(max)d文字以内で入力してください"
    )
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(tmp_path)
    Babel(app)
    return app


def test_messages_are_translated_when_shown(japanese_app: Flask) -> None:
    with pytest.raises(InvalidValue) as empty:
        normalize_postal_code("")  # raised outside any request
    with pytest.raises(InvalidValue) as long_name:
        normalize_name("山田太郎", max_length=3)
    with japanese_app.test_request_context():
        with force_locale("ja"):
            assert str(empty.value.message) == "郵便番号を入力してください"
            assert str(long_name.value.message) == "名前は3文字以内で入力してください"
            assert str(empty.value) == "郵便番号を入力してください"
        with force_locale("en"):
            assert str(empty.value.message) == "Enter a postal code"


def test_date_limits_are_shown_as_dates_in_the_residents_language(japanese_app: Flask) -> None:
    with pytest.raises(InvalidValue) as early:
        check_date_range(date(2026, 3, 31), max_days_before_today=14, today=TODAY)
    with pytest.raises(InvalidValue) as late:
        check_date_range(date(2026, 4, 30), max_days_after_today=14, today=TODAY)
    with japanese_app.test_request_context():
        with force_locale("en"):
            assert str(early.value.message) == "The date must be April 1, 2026 or later"
            assert str(late.value.message) == "The date must be April 29, 2026 or earlier"
        with force_locale("ja"):
            assert "2026年4月1日（令和8年4月1日）" in str(early.value.message)


# --- properties ---------------------------------------------------------------------------

#: What Japanese input modes produce for names and readings, so that most examples are accepted.
SPACES_AND_MARKS = list("・･·'’.-－‐−―ーｰ゛゜\u3099\u309a") + [" ", "\u3000", "\t", "\u00a0"]
KANA = list("あいうえおがぱゔゝゞわアイウエオガパヴヽワｱｲｳｴｵｶﾞﾊﾟﾞﾟ")
KANA_INPUT = st.text(st.sampled_from(KANA + SPACES_AND_MARKS), max_size=30)
NAME_INPUT = st.text(
    st.sampled_from(KANA + list("山田太郎佐々木ヶ原abcXYZéＡＢＣａｂｃ") + SPACES_AND_MARKS),
    max_size=30,
)
NAMEISH = KANA_INPUT | NAME_INPUT | st.text(max_size=30)
HALF_WIDTH_KATAKANA = re.compile("[\uff61-\uff9f]")


def accepted(call: Callable[..., str], raw: str, **kwargs: Any) -> str | None:
    """The normalized value, or None where ``call`` refuses ``raw``."""
    try:
        return call(raw, **kwargs)
    except InvalidValue:
        return None


@NO_DATABASE
@given(NAMEISH, st.booleans())
def test_normalize_text_is_idempotent(raw: str, multiline: bool) -> None:
    value = accepted(normalize_text, raw, multiline=multiline)
    if value is not None:
        assert normalize_text(value, multiline=multiline) == value
        assert value == value.strip()
        assert unicodedata.is_normalized("NFC", value)


@NO_DATABASE
@given(NAMEISH)
def test_normalize_name_is_idempotent_and_full_width(raw: str) -> None:
    value = accepted(normalize_name, raw)
    if value is not None:
        assert normalize_name(value) == value
        assert not HALF_WIDTH_KATAKANA.search(value)
        assert "\u3000" not in value and "  " not in value
        assert unicodedata.is_normalized("NFC", value)


@NO_DATABASE
@given(NAMEISH)
def test_normalize_kana_gives_only_katakana(raw: str) -> None:
    value = accepted(normalize_kana, raw)
    if value is not None:
        assert normalize_kana(value) == value
        for char in value:
            assert char in "ー・ ヽヾ" or "KATAKANA" in unicodedata.name(char), char


@NO_DATABASE
@given(
    st.lists(st.sampled_from("0123456789０１２３４５６７８９"), min_size=7, max_size=7),
    st.integers(0, 7),
    st.sampled_from(["", "-", "－", "ー", " ", "\u3000", "〒"]),
)
def test_any_seven_digits_are_a_postal_code(digits: list[str], at: int, separator: str) -> None:
    raw = "".join(digits[:at]) + separator + "".join(digits[at:])
    value = normalize_postal_code(raw)
    assert re.fullmatch("[0-9]{3}-[0-9]{4}", value)
    assert value.replace("-", "") == "".join(digits).translate(
        {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}
    )
    assert normalize_postal_code(value) == value


@NO_DATABASE
@given(NAMEISH)
def test_other_normalizers_are_idempotent(raw: str) -> None:
    for call in (normalize_postal_code, normalize_phone, normalize_email):
        value = accepted(call, raw)
        if value is not None:
            assert call(value) == value


@pytest.mark.parametrize(
    ("raw", "limits", "message"),
    [
        ("1" * 5000, {}, "The number must be 30 digits or fewer"),
        ("-" + "1" * 5000, {}, "The number must be 30 digits or fewer"),
        ("1." + "1" * 5000, {"minimum": 0, "maximum": 2}, "The number must be 30 digits or fewer"),
        ("1" * 5000, {"minimum": 0, "maximum": 9}, "The number must be between 0 and 9"),
        ("-" + "1" * 5000, {"minimum": 0}, "The number must be 0 or more"),
        ("1" * 5000, {"maximum": 9}, "The number must be 9 or less"),
        ("1" * 5000, {"minimum": 0}, "The number must be 30 digits or fewer"),
    ],
)
def test_a_number_too_long_to_convert_is_a_message(raw: str, limits: dict, message: str) -> None:
    """``int()`` refuses more than 4,300 digits: the length is checked before converting."""
    for integer in (True, False):
        if integer and "." in raw:
            continue
        assert message_of(parse_number, raw, integer=integer, **limits) == message


def test_leading_zeros_do_not_count_towards_a_number_s_length() -> None:
    assert parse_number("0" * 100 + "7", integer=True) == 7


@NO_DATABASE
@given(st.integers(-(10**12), 10**12), st.booleans(), st.booleans())
def test_numbers_read_back_as_typed(number: int, commas: bool, full_width: bool) -> None:
    text = f"{number:,}" if commas else str(number)
    if full_width:
        text = text.translate({code: code + 0xFEE0 for code in range(0x21, 0x7F)})
    assert parse_number(text, integer=True) == number
    assert parse_number(text) == Decimal(number)


@pytest.mark.parametrize(
    ("digits", "shown"),
    [
        ("09012345678", "090-1234-5678"),
        ("05012345678", "050-1234-5678"),
        ("0120123456", "0120-123-456"),
        ("0312345678", "03-1234-5678"),  # fixed lines: the area code's length decides
        ("0112345678", "011-234-5678"),
        ("0298641234", "029-864-1234"),
        ("08001234567", "0800-123-4567"),
        ("", ""),
    ],
)
def test_phone_numbers_are_shown_in_national_format(digits, shown) -> None:
    from portal.japan.values import display_phone

    assert display_phone(digits) == shown
    if digits:
        assert normalize_phone(shown) == digits
