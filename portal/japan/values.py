"""Turning what a resident typed into clean values, or a message that says how to fix it.

Residents type on phones in Japanese input modes, so the same answer arrives as ``１２３``,
``ｶﾀｶﾅ``, ``100ー0013`` or with ideographic spaces. Each function here accepts those forms and
returns one canonical value, or raises :class:`InvalidValue` whose ``message`` is a lazy string:
it is translated when the page is rendered, in the resident's language.

Every function except :func:`normalize_text` refuses a blank answer with an "Enter ..." or
"Select ..." message; for an optional question, check :func:`is_blank` before calling.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from portal.japan.clock import today_in_japan
from portal.japan.dates import ERAS, format_resident_date

#: Full-width ASCII (U+FF01–U+FF5E) to ASCII, as Japanese input modes produce it.
_FULLWIDTH_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
#: Everything a phone keyboard offers for "-": in Japanese mode the hyphen key types ー.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\u30fc\uff70"
_APOSTROPHES = {ord(c): "'" for c in "\u2018\u2019\u02bc\u2032\uff07"}
_MIDDLE_DOTS = {ord(c): "\u30fb" for c in "\u00b7\uff65"}
#: The spacing voiced marks ゛ ゜ become the combining ones, which NFC then joins to the kana.
_SPACING_VOICED_MARKS = {0x309B: 0x3099, 0x309C: 0x309A}
#: Invisible characters that come along with copied text: dropped silently.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"))
#: Bidirectional embedding, override and isolate controls can make text read differently.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]+")
_ASCII_DIGITS = re.compile("[0-9]+")
_NUMBER = re.compile(r"(-?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")

_DEFAULT_NAME_LENGTH = 100
#: The most digits a number may have: ``int()`` refuses more than 4,300, and no amount on a
#: form needs more than this. Checked before any conversion.
MAX_NUMBER_DIGITS = 30
_MAX_EMAIL_LENGTH = 254


class InvalidValue(ValueError):
    """A value the resident can correct: ``message`` says what is wrong and how to fix it.

    ``fields`` names the parts to highlight when one question has several inputs (for a date:
    ``"day"``, ``"month"``, ``"year"``); it is empty when the whole answer is wrong.
    """

    def __init__(self, message: LazyString, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


def is_blank(raw: str | None) -> bool:
    """True for a missing or whitespace-only answer, ideographic spaces included."""
    return raw is None or not raw.strip()


def _halfwidth_kana_to_fullwidth(value: str) -> str:
    """ｶﾞ becomes ガ: NFKC over each run keeps a voiced mark with the kana before it."""
    return _HALFWIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), value)


def _collapse_spaces(value: str) -> str:
    """Any run of whitespace (tabs, U+3000, no-break spaces) becomes one ASCII space."""
    return " ".join(value.split())


def _is_kana(char: str) -> bool:
    """Hiragana or katakana (with ー and the iteration marks), but not the middle dot."""
    return (
        "\u3041" <= char <= "\u3096"
        or "\u309d" <= char <= "\u309f"
        or "\u30a1" <= char <= "\u30fa"
        or "\u30fc" <= char <= "\u30ff"
        or "\u31f0" <= char <= "\u31ff"
    )


def _too_long(value: str, max_length: int | None) -> bool:
    return max_length is not None and len(value) > max_length


def check_length(value: str, *, minimum: int | None = None) -> str:
    """The value itself when it has at least ``minimum`` characters (a blank one passes)."""
    if value and minimum and len(value) < minimum:
        raise InvalidValue(_l("The answer must be %(min)d characters or more", min=minimum))
    return value


def normalize_text(
    raw: str | None, max_length: int | None = None, *, multiline: bool = False
) -> str:
    """Free text as one clean line (or lines): NFC, trimmed, whitespace runs collapsed.

    Half-width katakana is widened because the municipalities' systems take JIS X 0208 text.
    Zero-width spaces and byte order marks that come with copied text are dropped; other
    control characters are refused, since they could hide or reorder what staff read. With
    ``multiline`` the line breaks are kept, with at most one blank line in a row. A blank answer
    gives ``""``: whether the question is required is for the caller to say.
    """
    value = unicodedata.normalize("NFC", (raw or "").translate(_INVISIBLE))
    value = unicodedata.normalize("NFC", _halfwidth_kana_to_fullwidth(value))
    if multiline:
        lines = [_collapse_spaces(line) for line in value.splitlines()]
        value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    else:
        value = _collapse_spaces(value)
    for char in value:
        if char == "\n":
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            raise InvalidValue(
                _l("Remove the control characters from your answer; copied text can bring them")
            )
    if _too_long(value, max_length):
        raise InvalidValue(_l("The answer must be %(max)d characters or fewer", max=max_length))
    return value


def _widen_and_fold(raw: str | None) -> str:
    """The common start of names and readings: one form for each character a phone can type."""
    value = (raw or "").translate(_INVISIBLE).translate(_SPACING_VOICED_MARKS)
    value = unicodedata.normalize("NFC", value)
    value = _halfwidth_kana_to_fullwidth(value)
    return unicodedata.normalize("NFC", value)


def _fits_a_name(value: str, index: int) -> bool:
    """A letter of any script, a mark on one (a diacritic), or one of the separators."""
    category = unicodedata.category(value[index])
    if category.startswith("L") or value[index] in " \u30fb-'.":
        return True
    return (
        category.startswith("M") and index > 0 and unicodedata.category(value[index - 1])[0] in "LM"
    )


def normalize_name(raw: str | None, max_length: int = _DEFAULT_NAME_LENGTH) -> str:
    """A name in kanji, kana or Latin letters, as it should be stored and shown to staff.

    Full-width Latin becomes ASCII, half-width katakana becomes full-width, spaces collapse. A
    dash after kana becomes ー (カ－タ－ is カーター) and anywhere else becomes "-", because the
    hyphen key types ー in Japanese mode (Smithーjones is Smith-jones). Digits and most
    punctuation are refused; letters of any script, ・ ' . and - are kept.
    """
    value = _widen_and_fold(raw).translate(_FULLWIDTH_ASCII)
    value = value.translate(_APOSTROPHES).translate(_MIDDLE_DOTS)
    value = _collapse_spaces(unicodedata.normalize("NFC", value))
    out: list[str] = []
    for char in value:
        if char in _DASHES:
            char = "\u30fc" if out and _is_kana(out[-1]) else "-"
        out.append(char)
    value = "".join(out)
    if not value:
        raise InvalidValue(_l("Enter the name"))
    if any("0" <= char <= "9" or unicodedata.category(char) == "Nd" for char in value):
        raise InvalidValue(_l("The name must not include numbers"))
    fits = all(_fits_a_name(value, index) for index in range(len(value)))
    has_letter = any(unicodedata.category(char).startswith("L") for char in value)
    if not (fits and has_letter):
        raise InvalidValue(
            _l(
                "The name must only include letters, spaces, hyphens (-), apostrophes ('), "
                "full stops (.) and middle dots (・)"
            )
        )
    if _too_long(value, max_length):
        raise InvalidValue(_l("The name must be %(max)d characters or fewer", max=max_length))
    return value


def _is_katakana_reading(char: str) -> bool:
    return (
        "\u30a1" <= char <= "\u30fe"  # ァ..ヺ, ・, ー, ヽ, ヾ
        or "\u31f0" <= char <= "\u31ff"  # small kana for Ainu
        or char == " "
    )


def normalize_kana(raw: str | None, max_length: int = _DEFAULT_NAME_LENGTH) -> str:
    """A reading (フリガナ) in full-width katakana, whichever kana the resident typed.

    Hiragana becomes katakana, half-width katakana becomes full-width, any dash becomes ー and
    ･ or · becomes ・; anything else (kanji, Latin letters, digits) is refused.
    """
    value = _widen_and_fold(raw).translate(_MIDDLE_DOTS)
    value = "".join(
        "\u30fc" if char in _DASHES else chr(ord(char) + 0x60) if _is_hiragana(char) else char
        for char in value
    )
    value = _collapse_spaces(unicodedata.normalize("NFC", value))
    if not value:
        raise InvalidValue(_l("Enter the reading in katakana or hiragana"))
    if not all(_is_katakana_reading(char) for char in value):
        raise InvalidValue(
            _l("The reading must only include katakana or hiragana, like ヤマダ タロウ")
        )
    if _too_long(value, max_length):
        raise InvalidValue(_l("The reading must be %(max)d characters or fewer", max=max_length))
    return value


def _is_hiragana(char: str) -> bool:
    """The hiragana that have a katakana 0x60 code points later: ぁ..ゖ and ゝ ゞ."""
    return "\u3041" <= char <= "\u3096" or char in "\u309d\u309e"


_MISSING_DATE_PARTS = {
    ("day",): _l("The date must include a day"),
    ("month",): _l("The date must include a month"),
    ("year",): _l("The date must include a year"),
    ("day", "month"): _l("The date must include a day and month"),
    ("day", "year"): _l("The date must include a day and year"),
    ("month", "year"): _l("The date must include a month and year"),
}


def _date_part(raw: str | None) -> str:
    """A part as typed, with full-width letters and digits narrowed and spaces taken out."""
    return "".join(unicodedata.normalize("NFKC", raw or "").split())


#: Era names as residents type them: kanji, or the first letter of the romanized name. The
#: five eras since 1868 and their first days are :data:`portal.japan.dates.ERAS`. japanera 2.1.3
#: was tried: its ~250 historical eras make "H31" ambiguous (it found no date), and it could
#: not tell "平成 had ended" from "no such date"; jeraconv has had no release since 2019.
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治"}
_ERA_YEAR = re.compile(
    r"(?P<era>令和|平成|昭和|大正|明治|[RHSTM])\.?(?P<year>[0-9]{1,2}|元)年?", re.IGNORECASE
)
_WESTERN_YEAR = re.compile(r"(?P<year>[0-9]{4})年?")
_DAY_OR_MONTH = re.compile(r"(?P<number>[0-9]{1,2})[日月]?")


def _era_span(name: str) -> tuple[date, date | None]:
    """An era's first day and its last (None for the current one), from :data:`ERAS`."""
    names = [era for era, _first in ERAS]
    index = names.index(name)
    last = ERAS[index - 1][1] - timedelta(days=1) if index > 0 else None
    return ERAS[index][1], last


def _year_of(text: str) -> tuple[int, str | None]:
    """The Western year, and the era it was given in (None for a Western year).

    ``2026``, ``令和8``, ``R8``, ``r.8``, ``令和8年`` and ``令和元年`` are all read; ``㋿`` and
    ``㍻`` arrive as 令和 and 平成 once :func:`_date_part` has applied NFKC.
    """
    if western := _WESTERN_YEAR.fullmatch(text):
        return int(western["year"]), None
    if (era_year := _ERA_YEAR.fullmatch(text)) is None:
        if text.isascii() and text.isdigit():
            raise InvalidValue(
                _l("Enter the year as 4 digits in the Western calendar, like 2026"),
                ("year",),
            )
        raise InvalidValue(_l("Enter a real date"), ("year",))
    era = _ERA_LETTERS.get(era_year["era"].upper(), era_year["era"])
    number = 1 if era_year["year"] == "元" else int(era_year["year"])
    if number < 1:
        raise InvalidValue(_l("Enter a real date"), ("year",))
    return _era_span(era)[0].year + number - 1, era


def parse_date(year: str | None, month: str | None, day: str | None) -> date:
    """A date from three inputs, the GOV.UK date pattern, in either calendar.

    The year is Western with 4 digits (``2026``) or in an era (``令和8``, ``R8``, ``令和元年``,
    with 令和 平成 昭和 大正 明治 or their letters R H S T M); full-width digits are fine. A
    bare ``7`` is refused rather than taken to mean the year 7. An era date must fall within
    its era: 平成31年4月30日 is 2019-04-30 and 令和元年5月1日 is 2019-05-01, but 平成31年5月1日
    is refused (平成 had ended) rather than moved to 令和, since a date outside its era is
    most likely mistyped. ``InvalidValue.fields`` names the inputs to highlight.
    """
    parts = {"day": _date_part(day), "month": _date_part(month), "year": _date_part(year)}
    missing = tuple(name for name, value in parts.items() if not value)
    if len(missing) == 3:
        raise InvalidValue(_l("Enter the date"), missing)
    if missing:
        raise InvalidValue(_MISSING_DATE_PARTS[missing], missing)
    # Day and month: one or two digits, so nothing long ever reaches int().
    not_numbers = tuple(
        name for name in ("day", "month") if not _DAY_OR_MONTH.fullmatch(parts[name])
    )
    if not_numbers:
        raise InvalidValue(_l("Enter a real date"), not_numbers)
    number_year, era = _year_of(parts["year"])
    number_month = int(_DAY_OR_MONTH.fullmatch(parts["month"])["number"])  # type: ignore[index]
    number_day = int(_DAY_OR_MONTH.fullmatch(parts["day"])["number"])  # type: ignore[index]
    if number_year < 1:
        raise InvalidValue(_l("Enter a real date"), ("year",))
    if not 1 <= number_month <= 12:
        raise InvalidValue(_l("Enter a real date"), ("month",))
    try:
        value = date(number_year, number_month, number_day)
    except ValueError:
        raise InvalidValue(_l("Enter a real date"), ("day",)) from None
    if era is not None:
        _check_in_era(value, era)
    return value


def _check_in_era(value: date, era: str) -> None:
    first, last = _era_span(era)
    if value < first:
        raise InvalidValue(
            _l("%(era)s began on %(date)s", era=era, date=_lazy_date(first)),
            ("year", "month", "day"),
        )
    if last is not None and value > last:
        raise InvalidValue(
            _l("%(era)s ended on %(date)s", era=era, date=_lazy_date(last)),
            ("year", "month", "day"),
        )


_TIME = re.compile(r"(?P<hour>[0-9]{1,2})(?::|時)(?P<minute>[0-9]{2})分?|(?P<hhmm>[0-9]{4})")


def normalize_time(raw: str | None) -> str:
    """A time of day on the 24-hour clock as ``"HH:MM"``: 14:05, １４：０５, 14時05分, 1405."""
    if is_blank(raw):
        raise InvalidValue(_l("Enter a time"))
    value = "".join(unicodedata.normalize("NFKC", raw or "").split())
    match = _TIME.fullmatch(value)
    if match is None:
        raise InvalidValue(_l("Enter the time on the 24-hour clock, like 14:05"))
    if match["hhmm"]:
        hour, minute = int(match["hhmm"][:2]), int(match["hhmm"][2:])
    else:
        hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise InvalidValue(_l("Enter a real time: hours from 0 to 23 and minutes from 00 to 59"))
    return f"{hour:02d}:{minute:02d}"


def normalize_digits(
    raw: str | None, *, minimum: int | None = None, maximum: int | None = None
) -> str:
    """A code made of digits (an account number) as ASCII digits, leading zeros kept.

    Spaces and hyphens between digits are taken out; full-width digits are narrowed.
    """
    if is_blank(raw):
        raise InvalidValue(_l("Enter the number"))
    value = _without_separators(unicodedata.normalize("NFKC", raw or ""), "")
    if not _ASCII_DIGITS.fullmatch(value):
        raise InvalidValue(_l("Enter numbers only, like 1234567"))
    if minimum is not None and maximum is not None and minimum == maximum:
        if len(value) != minimum:
            raise InvalidValue(_l("Enter %(count)d digits", count=minimum))
    elif minimum is not None and len(value) < minimum:
        raise InvalidValue(_l("Enter %(count)d digits or more", count=minimum))
    elif maximum is not None and len(value) > maximum:
        raise InvalidValue(_l("Enter %(count)d digits or fewer", count=maximum))
    return value


def _lazy_date(day: date) -> LazyString:
    """The limit in a message, formatted in the resident's language when it is shown."""
    return LazyString(format_resident_date, day)


def check_date_range(
    value: date,
    *,
    not_after_today: bool = False,
    not_before_today: bool = False,
    max_days_before_today: int | None = None,
    max_days_after_today: int | None = None,
    today: date | None = None,
) -> date:
    """The date itself when it is within the limits; the message names the limit that failed.

    ``today`` defaults to today in Japan. Limits given in days are shown as dates, which a
    resident can check against a calendar.
    """
    today = today or today_in_japan()
    if not_after_today and value > today:
        raise InvalidValue(_l("The date must be today or in the past"))
    if not_before_today and value < today:
        raise InvalidValue(_l("The date must be today or in the future"))
    if max_days_before_today is not None:
        earliest = today - timedelta(days=max_days_before_today)
        if value < earliest:
            raise InvalidValue(_l("The date must be %(date)s or later", date=_lazy_date(earliest)))
    if max_days_after_today is not None:
        latest = today + timedelta(days=max_days_after_today)
        if value > latest:
            raise InvalidValue(_l("The date must be %(date)s or earlier", date=_lazy_date(latest)))
    return value


def _without_separators(raw: str | None, separators: str) -> str:
    """ASCII text with whitespace, every dash form and the given separators taken out."""
    value = (raw or "").translate(_FULLWIDTH_ASCII)
    return "".join(c for c in value if not c.isspace() and c not in _DASHES and c not in separators)


def normalize_postal_code(raw: str | None) -> str:
    """``NNN-NNNN`` from 1000013, 100-0013, １００－００１３, 〒100ー0013 and the like."""
    if is_blank(raw):
        raise InvalidValue(_l("Enter a postal code"))
    value = _without_separators(raw, "〒〶")
    if len(value) != 7 or not _ASCII_DIGITS.fullmatch(value):
        raise InvalidValue(_l("Enter the postal code as 7 digits, like 100-0013"))
    return f"{value[:3]}-{value[3:]}"


def normalize_phone(raw: str | None) -> str:
    """A phone number in Japan as its 10 or 11 digits only, like ``0312345678``.

    Digits only, because the hyphens residents type vary for the same number: digits compare
    and dial reliably, and :func:`display_phone` adds the hyphens. Hyphens, parentheses
    (03(1234)5678) and spaces are accepted, full-width too; +81 becomes 0, with or without the
    (0). Whether the number can exist is checked against Google's numbering plan for Japan
    (the ``phonenumbers`` package), which knows every area code's length.
    """
    if is_blank(raw):
        raise InvalidValue(_l("Enter a phone number"))
    value = _without_separators(raw, "()")
    if value.startswith("+81"):
        value = "0" + value[3:].removeprefix("0")
    if not _ASCII_DIGITS.fullmatch(value):
        raise InvalidValue(
            _l("Enter a phone number in Japan, using numbers and hyphens only, like 090-1234-5678")
        )
    if not (value.startswith("0") and not value.startswith("00") and len(value) in (10, 11)):
        raise InvalidValue(_PHONE_LENGTH)
    if not phonenumbers.is_valid_number(_parsed_phone(value)):
        raise InvalidValue(_PHONE_LENGTH)
    return value


_PHONE_LENGTH = _l(
    "Enter the phone number as 10 or 11 digits, with the area code, like 03-1234-5678"
)


def _parsed_phone(digits: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(digits, "JP")


_DOMAIN_LABEL = re.compile(r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?")
_LOCAL_PART_FORBIDDEN = frozenset('<>()[]\\,;:"@')


def normalize_email(raw: str | None) -> str:
    """An email address: trimmed, the domain in lower case, the local part as typed.

    Full-width letters, ＠, 。 and ー (from Japanese input mode) become ASCII. Dots are allowed
    anywhere in the local part: older Japanese mobile addresses such as ``taro..@docomo.ne.jp``
    break the RFC but still receive mail.
    """
    value = (raw or "").strip().translate(_FULLWIDTH_ASCII)
    value = "".join("-" if c in _DASHES else "." if c in "\u3002\uff61" else c for c in value)
    value = unicodedata.normalize("NFC", value)
    if not value:
        raise InvalidValue(_l("Enter an email address"))
    if len(value) > _MAX_EMAIL_LENGTH:
        raise InvalidValue(_l("The email address must be 254 characters or fewer"))
    local, _, domain = value.partition("@")
    labels = domain.split(".")
    valid = (
        0 < len(local) <= 64
        and not any(c.isspace() or c in _LOCAL_PART_FORBIDDEN or not c.isprintable() for c in local)
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
    )
    if not valid:
        raise InvalidValue(
            _l("Enter an email address in the correct format, like name@example.com")
        )
    return f"{local}@{domain.lower()}"


def _format_limit(limit: int | Decimal) -> str:
    return f"{limit:,}"


def parse_number(
    raw: str | None,
    *,
    integer: bool = False,
    minimum: int | Decimal | None = None,
    maximum: int | Decimal | None = None,
) -> int | Decimal:
    """An ``int`` (with ``integer``) or a ``Decimal``, never a float, so amounts stay exact.

    Full-width digits and signs, and commas between groups of three (1,500), are accepted;
    exponents, NaN and ".5" are not.
    """
    if is_blank(raw):
        raise InvalidValue(_l("Enter a number"))
    value = "".join((raw or "").translate(_FULLWIDTH_ASCII).split()).replace("\u2212", "-")
    match = _NUMBER.fullmatch(value)
    if not match or (integer and match.group(3) is not None):
        if integer:
            raise InvalidValue(_l("Enter a whole number using digits, like 1500"))
        raise InvalidValue(_l("Enter a number using digits, like 1500 or 12.5"))
    sign, whole, fraction = match.groups()
    digits = whole.replace(",", "").lstrip("0") or "0"
    too_long = _l("The number must be %(count)d digits or fewer", count=MAX_NUMBER_DIGITS)
    if len(fraction or "") > MAX_NUMBER_DIGITS:
        raise InvalidValue(too_long)
    if len(digits) > MAX_NUMBER_DIGITS:
        if minimum is None and maximum is None:
            raise InvalidValue(too_long)
        # Too large to be within its limits: said as the limits, without converting it.
        too_small, too_big = bool(sign), not sign
    else:
        text = sign + digits + (f".{fraction}" if fraction else "")
        number: int | Decimal = int(text) if integer else Decimal(text)
        too_small = minimum is not None and number < minimum
        too_big = maximum is not None and number > maximum
    if (too_small or too_big) and minimum is not None and maximum is not None:
        raise InvalidValue(
            _l(
                "The number must be between %(minimum)s and %(maximum)s",
                minimum=_format_limit(minimum),
                maximum=_format_limit(maximum),
            )
        )
    if too_small and minimum is not None:
        raise InvalidValue(
            _l("The number must be %(minimum)s or more", minimum=_format_limit(minimum))
        )
    if too_big and maximum is not None:
        raise InvalidValue(
            _l("The number must be %(maximum)s or less", maximum=_format_limit(maximum))
        )
    if too_small or too_big:  # too large, beyond the limit on its other side
        raise InvalidValue(too_long)
    return number


def normalize_choice(raw: str | None, allowed: Iterable[str]) -> str:
    """One of the radio buttons' values; anything else means a stale or altered form."""
    value = (raw or "").strip()
    if not value:
        raise InvalidValue(_l("Select an option"))
    if value not in set(allowed):
        raise InvalidValue(_l("Select from the options shown"))
    return value


def normalize_choices(raws: Iterable[str | None], allowed: Iterable[str]) -> list[str]:
    """The ticked checkboxes' values, without repeats, in the order the options are listed.

    Refuses none ticked; an optional question checks for an empty list before calling.
    """
    options = list(allowed)
    chosen = {value for value in ((raw or "").strip() for raw in raws) if value}
    if not chosen:
        raise InvalidValue(_l("Select at least one option"))
    if not chosen <= set(options):
        raise InvalidValue(_l("Select from the options shown"))
    return [option for option in dict.fromkeys(options) if option in chosen]


def parse_yes_no(raw: str | None) -> bool:
    """The yes/no radio pair: ``"yes"`` is True, ``"no"`` is False."""
    value = (raw or "").strip().lower()
    if value not in ("yes", "no"):
        raise InvalidValue(_l("Select yes or no"))
    return value == "yes"


def display_phone(digits: str) -> str:
    """A stored phone number as people write it in Japan: 03-1234-5678, 090-1234-5678,
    0120-123-456 (the national format of the numbering plan); anything else as stored."""
    if not (digits.isascii() and digits.isdigit() and 10 <= len(digits) <= 11):
        return digits
    number = _parsed_phone(digits)
    if not phonenumbers.is_valid_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
