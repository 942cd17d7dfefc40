"""A journey page's questions: what residents type becomes clean answers, or a message beside
the field; stored answers come back on the page; the check page reads them in each language."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from io import BytesIO
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale, gettext, ngettext
from flask_wtf.csrf import generate_csrf
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from portal.definitions.model import Field, Item, Option, Text
from portal.journey.fields.base import field_types, input_attributes
from portal.journey.fields.names import field_name, key_of
from portal.journey.fields.page import PageForm, page_form
from portal.journey.fields.summary import SUMMARIZERS, summarize
from tests.support.documents import JPEG, PDF, PNG, image, pdf

NO_CSRF = {"csrf": False}


def text(en: str, ja: str | None = None) -> Text:
    return Text(ja or en, en)


def item(kind: str, key: str = "x", label: str = "Answer", ja: str = "回答", **kw: Any) -> Item:
    return Item(key=key, type=kind, label=Text(ja, label), **kw)


def asked(kind: str, key: str = "x", required: bool = True, **kw: Any) -> Field:
    return Field(key=key, item=item(kind, key, **kw), required=required)


COLOURS = (
    Option("red", text("Red", "赤")),
    Option("blue", text("Blue", "青"), help=text("Like the sky", "空の色")),
    Option("green", text("Green", "緑")),
)
MOVE_DATE = asked(
    "date", "move.date", label="Date you moved", ja="異動日", validation={"not_after_today": True}
)
NEW_ADDRESS = asked("address", "move.new_address", label="New address", ja="新住所")
CHILDREN = Field(
    key="children",
    item=Item(
        key="children",
        type="group",
        label=text("Children", "子ども"),
        item_label=text("Child", "子"),
        max_items=3,
        fields=(
            asked("name", "name", label="Name", ja="氏名"),
            asked("date", "birthdate", label="Date of birth", ja="生年月日"),
            asked("yes_no", "lives_with_you", required=False, label="Lives with you", ja="同居"),
        ),
    ),
    required=False,
)


@contextmanager
def posting(app: Flask, data: Mapping[str, Any] | list[tuple[str, Any]]) -> Iterator[None]:
    with app.test_request_context("/", method="POST", data=MultiDict(data)):
        yield


def submit(
    app: Flask,
    fields: list[Field],
    data: Mapping[str, Any] | list[tuple[str, Any]],
    answers: Mapping[str, Any] | None = None,
    **kw: Any,
) -> tuple[PageForm, bool]:
    """Post ``data`` for these fields, in English; the form and whether it validated."""
    with posting(app, data), force_locale("en"):
        form = page_form(fields, answers or {}, meta=NO_CSRF, **kw)
        valid = form.validate()
        return form, valid


def answer_of(app: Flask, field: Field, data: Mapping[str, Any]) -> Any:
    form, valid = submit(app, [field], data)
    assert valid, form.errors
    return form.answers()[field.key]


def errors_of(app: Flask, field: Field, data: Mapping[str, Any]) -> list[str]:
    form, valid = submit(app, [field], data)
    assert not valid
    return list(form.field_for(field.key).errors)


def render(form: PageForm, fields: list[Field]) -> str:
    return render_template_string(
        '{% from "macros/fields.html" import render_field with context %}'
        '{% from "macros/components.html" import error_summary %}'
        "{{ error_summary(form) }}{% for f in fields %}{{ render_field(form, f) }}{% endfor %}",
        form=form,
        fields=fields,
    )


def shown(app: Flask, fields: list[Field], answers: Mapping[str, Any], **kw: Any) -> str:
    """The page as a GET shows it, with these stored answers."""
    with app.test_request_context("/"), force_locale("en"):
        return render(page_form(fields, answers, **kw), fields)


def ids(html: str) -> list[str]:
    return re.findall(r' id="([^"]+)"', html)


# Names ----------------------------------------------------------------------------------


def test_keys_become_safe_html_names_and_back() -> None:
    assert field_name("move.new_address") == "move__new_address"
    assert key_of("move__new_address") == "move.new_address"
    for unsafe in ("a__b", "a_.b"):
        with pytest.raises(ValueError):
            field_name(unsafe)


def test_every_item_type_has_a_field_type() -> None:
    types = ["text", "textarea", "name", "kana", "date", "postal_code", "address", "phone"]
    types += ["email", "number", "select", "radio", "yes_no", "checkbox", "file", "group"]
    types += ["time", "digits"]
    assert sorted(field_types()) == sorted(types)
    assert sorted(SUMMARIZERS) == sorted(types)


def test_a_key_that_clashes_with_the_form_is_refused(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="taken"):
        page_form([asked("text", "validate")], {}, meta=NO_CSRF)


# Text-like types ------------------------------------------------------------------------


def test_text_is_cleaned_and_checked_for_length(app: Flask) -> None:
    field = asked("text", validation={"min_length": 2, "max_length": 5})
    assert answer_of(app, field, {"x": "\u3000ｱｲ\u3000 "}) == "アイ"
    assert errors_of(app, field, {"x": "a"}) == ["The answer must be 2 characters or more"]
    assert errors_of(app, field, {"x": "abcdef"}) == ["The answer must be 5 characters or fewer"]


def test_a_required_question_left_blank_says_what_to_enter(app: Flask) -> None:
    field = asked("text", label="Family name")
    assert errors_of(app, field, {"x": " \u3000"}) == ["Enter family name"]
    assert errors_of(app, field, {}) == ["Enter family name"]
    assert answer_of(app, asked("text", required=False), {"x": ""}) == ""


def test_textarea_keeps_its_lines(app: Flask) -> None:
    field = asked("textarea")
    assert answer_of(app, field, {"x": "一行目\r\n\r\n\r\n二行目  "}) == "一行目\n\n二行目"


def test_names_widen_half_width_kana_and_narrow_full_width_letters(app: Flask) -> None:
    field = asked("name")
    assert answer_of(app, field, {"x": "ﾔﾏﾀﾞ\u3000ﾀﾛｳ"}) == "ヤマダ タロウ"
    assert answer_of(app, field, {"x": "Ｓｍｉｔｈ"}) == "Smith"
    assert errors_of(app, field, {"x": "Taro 2"}) == ["The name must not include numbers"]


def test_a_reading_in_hiragana_is_kept_in_katakana(app: Flask) -> None:
    field = asked("kana")
    assert answer_of(app, field, {"x": "やまだ　たろう"}) == "ヤマダ タロウ"
    assert answer_of(app, field, {"x": "ﾔﾏﾀﾞ"}) == "ヤマダ"
    assert errors_of(app, field, {"x": "山田"}) == [
        "The reading must only include katakana or hiragana, like ヤマダ タロウ"
    ]


def test_postal_codes_phones_and_emails_take_the_forms_phones_type(app: Flask) -> None:
    assert answer_of(app, asked("postal_code"), {"x": "〒１００ー００１３"}) == "100-0013"
    assert errors_of(app, asked("postal_code"), {"x": "100-001"}) == [
        "Enter the postal code as 7 digits, like 100-0013"
    ]
    assert answer_of(app, asked("phone"), {"x": "０９０－１２３４－５６７８"}) == "09012345678"
    assert errors_of(app, asked("phone"), {"x": "12345"}) == [
        "Enter the phone number as 10 or 11 digits, with the area code, like 03-1234-5678"
    ]
    assert answer_of(app, asked("email"), {"x": "Taro＠EXAMPLE.jp"}) == "Taro@example.jp"
    assert errors_of(app, asked("email"), {"x": "taro"}) == [
        "Enter an email address in the correct format, like name@example.com"
    ]


def test_numbers_are_exact_and_within_their_limits(app: Flask) -> None:
    whole = asked("number", validation={"integer": True, "min": 1, "max": 2000})
    assert answer_of(app, whole, {"x": "１，５００"}) == 1500
    assert isinstance(answer_of(app, whole, {"x": "1500"}), int)
    assert errors_of(app, whole, {"x": "2500"}) == ["The number must be between 1 and 2,000"]
    assert errors_of(app, whole, {"x": "1.5"}) == ["Enter a whole number using digits, like 1500"]
    decimal = asked("number", required=False)
    assert answer_of(app, decimal, {"x": "12.5"}) == 12.5
    assert answer_of(app, decimal, {"x": ""}) is None


# Dates ----------------------------------------------------------------------------------


def test_a_date_is_three_inputs_stored_as_iso(app: Flask) -> None:
    data = {"move__date-year": "２０２５", "move__date-month": "1", "move__date-day": "０２"}
    assert answer_of(app, MOVE_DATE, data) == "2025-01-02"


def test_a_date_error_names_the_part_and_links_to_it(app: Flask) -> None:
    form, _valid = submit(app, [MOVE_DATE], {"move__date-year": "2025", "move__date-month": "1"})
    field = form.field_for("move.date")
    assert field.errors == ["The date must include a day"]
    assert field.id == "move__date-day"
    with app.test_request_context("/"), force_locale("en"):
        html = render(form, [MOVE_DATE])
    assert '<a href="#move__date-day">The date must include a day</a>' in html
    day = re.search(r'<input type="text"[^>]*id="move__date-day"[^>]*>', html)
    assert day and 'aria-invalid="true"' in day.group()
    year = re.search(r'<input type="text"[^>]*id="move__date-year"[^>]*>', html)
    assert year and "aria-invalid" not in year.group()


def test_a_blank_date_links_to_the_year_and_a_future_one_is_refused(app: Flask) -> None:
    form, _valid = submit(app, [MOVE_DATE], {})
    assert form.field_for("move.date").errors == ["Enter date you moved"]
    assert form.field_for("move.date").id == "move__date-year"
    future = {"move__date-year": "2999", "move__date-month": "1", "move__date-day": "1"}
    assert errors_of(app, MOVE_DATE, future) == ["The date must be today or in the past"]
    nonsense = {"move__date-year": "2025", "move__date-month": "2", "move__date-day": "30"}
    assert errors_of(app, MOVE_DATE, nonsense) == ["Enter a real date"]


def test_a_stored_date_is_shown_in_its_three_inputs(app: Flask) -> None:
    html = shown(app, [MOVE_DATE], {"move.date": "2025-01-02"})
    assert re.search(r'id="move__date-year"[^>]*value="2025"', html)
    assert re.search(r'id="move__date-month"[^>]*value="1"', html)
    assert re.search(r'id="move__date-day"[^>]*value="2"', html)
    assert 'inputmode="numeric"' in html and "<legend>Date you moved" in html


# Choices --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["select", "radio"])
def test_one_choice_is_stored_as_its_value(app: Flask, kind: str) -> None:
    field = asked(kind, label="Colour", options=COLOURS)
    assert answer_of(app, field, {"x": "blue"}) == "blue"
    assert errors_of(app, field, {}) == ["Select colour"]
    assert errors_of(app, field, {"x": "purple"}) == ["Select from the options shown"]


def test_yes_or_no_is_stored_as_a_boolean(app: Flask) -> None:
    field = asked("yes_no")
    assert answer_of(app, field, {"x": "yes"}) is True
    assert answer_of(app, field, {"x": "no"}) is False
    assert errors_of(app, field, {}) == ["Select yes or no"]


def test_checkboxes_are_stored_in_the_options_order(app: Flask) -> None:
    field = asked("checkbox", label="Colours", options=COLOURS)
    data = [("x", "green"), ("x", "red"), ("x", "green")]
    assert answer_of(app, field, MultiDict(data)) == ["red", "green"]
    assert errors_of(app, field, {}) == ["Select colours"]
    assert answer_of(app, asked("checkbox", required=False, options=COLOURS), {}) == []


def test_stored_choices_are_shown_checked_and_the_first_option_carries_the_id(
    app: Flask,
) -> None:
    radio = asked("radio", "colour", options=COLOURS)
    boxes = asked("checkbox", "colours", options=COLOURS)
    select = asked("select", "favourite", options=COLOURS)
    answers = {"colour": "blue", "colours": ["red", "green"], "favourite": "green"}
    html = shown(app, [radio, boxes, select], answers)
    assert re.search(r'id="colour" name="colour" value="red">', html)
    assert re.search(r'id="colour-1" name="colour" value="blue" checked', html)
    assert 'aria-describedby="colour-1-item-hint"' in html and "Like the sky" in html
    assert re.search(r'id="colours" name="colours" value="red" checked', html)
    assert re.search(r'id="colours-2" name="colours" value="green" checked', html)
    assert '<option selected value="green">Green</option>' in html


# Files ----------------------------------------------------------------------------------


def test_a_file_is_an_upload_not_an_answer(app: Flask) -> None:
    field = asked("file", "proof", label="Proof of address")
    upload = (BytesIO(PDF), "proof.pdf")
    with app.test_request_context("/", method="POST", data={"proof": upload}):
        form = page_form([field], {}, meta=NO_CSRF)
        assert form.validate(), form.errors
        assert form.answers() == {}
        uploads = form.uploads()
        assert isinstance(uploads["proof"], FileStorage)
        assert uploads["proof"].filename == "proof.pdf"
        assert form.has_files


def test_a_required_file_needs_a_file_unless_one_is_attached(app: Flask) -> None:
    field = asked("file", "proof", label="Proof of address")
    form, valid = submit(app, [field], {})
    assert not valid and form.field_for("proof").errors == ["Choose a file for proof of address"]
    form, valid = submit(app, [field], {}, files={"proof": "old.pdf"})
    assert valid and form.uploads() == {}
    html = shown(app, [field], {}, files={"proof": "old<b>.pdf"})
    assert "Current file: old&lt;b&gt;.pdf" in html
    assert re.search(r'<input[^>]*aria-describedby="proof-current"[^>]*type="file"', html)


def upload_errors(app: Flask, content: bytes, filename: str = "proof.pdf") -> list[str]:
    field = asked("file", "proof", label="Proof of address")
    data = {"proof": (BytesIO(content), filename)}
    with app.test_request_context("/", method="POST", data=data), force_locale("en"):
        form = page_form([field], {}, meta=NO_CSRF)
        form.validate()
        return list(form.field_for("proof").errors)


@pytest.mark.parametrize("content", [PDF, JPEG, PNG, pdf(pages=3)])
def test_a_real_pdf_jpeg_or_png_is_accepted(app, content) -> None:
    assert upload_errors(app, content) == []


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\nthis is a letter, not a PDF\n%%EOF\n",
        b"\xff\xd8\xff" + b"this is text, not a photo" * 10,
        b"\x89PNG\r\n\x1a\n" + b"0" * 64,
        JPEG[: len(JPEG) // 2],  # cut short
        PNG[:-20],
    ],
)
def test_a_file_that_only_starts_like_a_pdf_or_image_is_refused(app, content) -> None:
    assert upload_errors(app, content) == ["The file is damaged or is not a real PDF, JPEG or PNG"]


def test_an_image_too_large_to_decode_safely_is_refused(app, monkeypatch) -> None:
    from portal.journey import files

    # 48 KB that would decode to 400 megapixels: refused before decoding.
    bomb = BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")
    assert upload_errors(app, bomb.getvalue()) == ["The image must be 50 megapixels or fewer"]
    bomb = BytesIO()
    Image.new("1", (11000, 11000)).save(bomb, "PNG")  # where Pillow only warns
    assert upload_errors(app, bomb.getvalue()) == ["The image must be 50 megapixels or fewer"]

    monkeypatch.setattr(files, "MAX_IMAGE_PIXELS", 100)
    assert upload_errors(app, image("PNG", (20, 20))) == ["The image must be 0 megapixels or fewer"]
    monkeypatch.setattr(files, "MAX_PDF_PAGES", 2)
    assert upload_errors(app, pdf(pages=3)) == ["The PDF must have 2 pages or fewer"]


def test_a_password_protected_pdf_is_refused(app) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(PDF)))
    writer.encrypt("secret")
    locked = BytesIO()
    writer.write(locked)
    assert upload_errors(app, locked.getvalue()) == ["The PDF must not be protected by a password"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("\u202efdp.exe", "fdp.exe.pdf"),  # shown as "exe.pdf" with the override
        ("letter\x00.pdf", "letter.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("\u200bzero\u2066width\u2069.pdf", "zerowidth.pdf"),
        ("...", "document.pdf"),
        ("\x00", "document.pdf"),
        ("証明書.PDF", "証明書.PDF"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_an_upload_s_name_is_made_safe_to_show_and_send_back(app, sent, kept) -> None:
    field = asked("file", "proof", label="Proof of address")
    with app.test_request_context("/", method="POST", data={"proof": (BytesIO(PDF), sent)}):
        form = page_form([field], {}, meta=NO_CSRF)
        assert form.validate(), form.errors
        assert form.uploads()["proof"].filename == kept


@pytest.mark.parametrize(
    ("sent", "extension", "kept"),
    [
        ("letter\r\nX-Injected: 1.pdf", "pdf", "letter X-Injected: 1.pdf"),
        ("C:\\Users\\taro\\proof.pdf", "pdf", "proof.pdf"),
        ("line\u2028break\u2029.pdf", "pdf", "line break.pdf"),
        ("photo.jpeg", "jpg", "photo.jpeg"),
        ("photo.png", "jpg", "photo.png.jpg"),
        (None, "jpg", "document.jpg"),
    ],
)
def test_names_a_browser_may_send_are_cleaned(sent, extension, kept) -> None:
    from portal.journey.files import clean_filename

    assert clean_filename(sent, extension) == kept


# Addresses ------------------------------------------------------------------------------


def address_data(**parts: str) -> dict[str, str]:
    return {f"move__new_address-{part}": value for part, value in parts.items()}


def test_an_address_takes_its_municipality_from_the_postal_code(app: Flask) -> None:
    data = address_data(
        postal_code="〒１００ー００１３", street="１－３－１", building="中央合同庁舎"
    )
    assert answer_of(app, NEW_ADDRESS, data) == {
        "postal_code": "100-0013",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "霞が関",
        "street": "１－３－１",
        "building": "中央合同庁舎",
        "municipality_code": "131016",
    }


def test_an_unknown_postal_code_is_an_error_beside_the_field(app: Flask) -> None:
    form, valid = submit(app, [NEW_ADDRESS], address_data(postal_code="999-9999", street="1"))
    assert not valid
    field = form.field_for("move.new_address")
    assert field.errors == ["We could not find this postal code"]
    assert field.id == "move__new_address-postal_code"
    form, _valid = submit(app, [NEW_ADDRESS], address_data(postal_code="100-0013"))
    assert form.field_for("move.new_address").errors == ["Enter the block and house number"]
    assert form.field_for("move.new_address").id == "move__new_address-street"
    form, _valid = submit(app, [NEW_ADDRESS], address_data(building="ビル"))
    errors = form.field_for("move.new_address").errors
    assert errors == ["Enter a postal code", "Enter the block and house number"]
    assert [e.target for e in errors] == [
        "move__new_address-postal_code",
        "move__new_address-street",
    ]
    form, _valid = submit(app, [NEW_ADDRESS], {})
    assert form.field_for("move.new_address").errors == ["Enter new address"]


def test_find_address_fills_in_what_the_postal_code_decides(app: Flask) -> None:
    data = {**address_data(postal_code="1000013", street="1-3-1"), "lookup": "move__new_address"}
    with posting(app, data), force_locale("en"):
        form = page_form([NEW_ADDRESS], {}, meta=NO_CSRF)
        assert form.lookup_request() == "move.new_address"
        assert form.group_action() is None
        assert form.fill_from_postal_code("move.new_address")
        html = render(form, [NEW_ADDRESS])
    filled = {
        "postal_code": "100-0013",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "霞が関",
        "street": "1-3-1",
    }
    for part, value in filled.items():
        assert re.search(rf'id="move__new_address-{part}"[^>]*value="{value}"', html)
    assert 'name="lookup" value="move__new_address"' in html and "Address found" in html


def test_find_address_with_an_unknown_code_says_so_beside_the_field(app: Flask) -> None:
    data = {**address_data(postal_code="9999999"), "lookup": "move__new_address"}
    with posting(app, data), force_locale("en"):
        form = page_form([NEW_ADDRESS], {}, meta=NO_CSRF)
        assert not form.fill_from_postal_code(form.lookup_request() or "")
        html = render(form, [NEW_ADDRESS])
    assert '<a href="#move__new_address-postal_code">We could not find' in html
    assert 'id="move__new_address-postal_code-error"' in html
    postal = re.search(r'<input type="text"[^>]*id="move__new_address-postal_code"[^>]*>', html)
    assert postal and "move__new_address-postal_code-error" in postal.group()


def test_the_resident_s_own_address_gets_autocomplete_a_new_one_does_not(app: Flask) -> None:
    own = asked("address", "address", prefill="address")
    html = shown(app, [own, NEW_ADDRESS], {})
    assert 'autocomplete="postal-code"' in html and 'autocomplete="address-level1"' in html
    new_part = re.search(r'<input type="text"[^>]*id="move__new_address-city"[^>]*>', html)
    assert new_part and "autocomplete" not in new_part.group()


# Groups ---------------------------------------------------------------------------------


STORED_CHILDREN = [
    {"name": "山田 花子", "birthdate": "2020-04-01", "lives_with_you": True},
    {"name": "山田 次郎", "birthdate": "2022-06-15", "lives_with_you": False},
]


def test_stored_entries_are_shown_each_with_a_remove_button(app: Flask) -> None:
    html = shown(app, [CHILDREN], {"children": STORED_CHILDREN})
    assert 'value="山田 花子"' in html and 'value="山田 次郎"' in html
    assert re.search(r'id="children-1-birthdate-year"[^>]*value="2022"', html)
    assert re.search(
        r'id="children-0-lives_with_you" name="children-0-lives_with_you" '
        r'value="yes" checked',
        html,
    )
    assert 'name="remove" value="children-0"' in html
    assert 'name="add" value="children"' in html and "Add Child" in html
    assert '<legend class="add-another__legend">Child 2</legend>' in html


def entry_data(index: int, name: str, year: str = "2020") -> dict[str, str]:
    prefix = f"children-{index}"
    return {
        f"{prefix}": "",
        f"{prefix}-name": name,
        f"{prefix}-birthdate-year": year,
        f"{prefix}-birthdate-month": "4",
        f"{prefix}-birthdate-day": "1",
    }


def test_add_another_adds_an_empty_entry_and_keeps_what_was_typed(app: Flask) -> None:
    data = {**entry_data(0, "ﾊﾅｺ"), "add": "children"}
    with posting(app, data), force_locale("en"):
        form = page_form([CHILDREN], {}, meta=NO_CSRF)
        assert form.group_action() == ("add", "children", None)
        assert len(form.field_for("children").entries) == 2
        html = render(form, [CHILDREN])
    assert 'value="ﾊﾅｺ"' in html and 'id="children-1-name"' in html
    assert "There is a problem" not in html


def test_remove_takes_out_that_entry(app: Flask) -> None:
    data = {**entry_data(0, "花子"), **entry_data(1, "次郎"), **entry_data(2, "三郎")}
    data["remove"] = "children-1"
    with posting(app, data), force_locale("en"):
        form = page_form([CHILDREN], {}, meta=NO_CSRF)
        assert form.group_action() == ("remove", "children", 1)
        html = render(form, [CHILDREN])
    assert 'value="次郎"' not in html
    assert re.search(r'id="children-1-name"[^>]*value="三郎"', html)
    assert "Add Child" not in html or html.count('name="add"') == 1


def test_entries_are_stored_as_a_list_of_answers(app: Flask) -> None:
    data = {**entry_data(0, "ﾊﾅｺ"), **entry_data(1, "じろう", "2022")}
    data["children-0-lives_with_you"] = "yes"
    assert answer_of(app, CHILDREN, data) == [
        {"name": "ハナコ", "birthdate": "2020-04-01", "lives_with_you": True},
        {"name": "じろう", "birthdate": "2022-04-01", "lives_with_you": None},
    ]


def test_an_entry_s_error_is_beside_its_field_and_links_to_it(app: Flask) -> None:
    data = {**entry_data(0, "花子"), **entry_data(1, "")}
    form, valid = submit(app, [CHILDREN], data)
    assert not valid
    assert form.field_for("children").errors == ["Child 2: Enter name"]
    assert form.field_for("children-1-name").errors == ["Enter name"]
    with app.test_request_context("/"), force_locale("en"):
        html = render(form, [CHILDREN])
    assert '<a href="#children-1-name">Child 2: Enter name</a>' in html
    assert 'id="children-1-name-error"' in html
    form, _valid = submit(app, [CHILDREN], {**entry_data(0, "花子"), **entry_data(1, "次郎", "")})
    errors = form.field_for("children").errors
    assert errors == ["Child 2: The date must include a year"]
    assert errors[0].target == "children-1-birthdate-year"


def test_find_address_works_inside_a_group_entry(app: Flask) -> None:
    household = Field(
        "household",
        Item(
            key="household",
            type="group",
            label=text("Household"),
            item_label=text("Member"),
            fields=(asked("address", "address", label="Address"),),
        ),
    )
    data = {"household-0-address-postal_code": "1000013", "lookup": "household-0-address"}
    with posting(app, data), force_locale("en"):
        form = page_form([household], {}, meta=NO_CSRF)
        assert form.lookup_request() == "household-0-address"
        assert form.fill_from_postal_code("household-0-address")
        assert form.field_for("household-0-address").raw["city"] == "千代田区"
    data["household-0-address-postal_code"] = "0000000"
    with posting(app, data), force_locale("en"):
        form = page_form([household], {}, meta=NO_CSRF)
        assert not form.fill_from_postal_code("household-0-address")
        assert form.field_for("household").errors == [
            "Member 1: We could not find this postal code"
        ]
        assert form.field_for("household").id == "household-0-address-postal_code"


def test_a_group_has_at_least_its_least_entries(app: Flask) -> None:
    required = Field(CHILDREN.key, Item(**{**CHILDREN.item.__dict__, "min_items": 2}), True)
    html = shown(app, [required], {})
    assert html.count('class="add-another__legend"') == 2 and 'name="remove"' not in html
    form, valid = submit(app, [required], entry_data(0, "花子"))
    assert not valid
    assert form.field_for("children").errors == [
        "Child 2: Enter name",
        "Child 2: Enter date of birth",
    ]
    data = {**entry_data(0, "花子"), **entry_data(1, "次郎"), "remove": "children-0"}
    with posting(app, data):
        form = page_form([required], {}, meta=NO_CSRF)
        assert form.group_action() == ("remove", "children", 0)
        assert len(form.field_for("children").entries) == 2


# Locked answers -------------------------------------------------------------------------


def test_a_locked_answer_is_shown_and_what_is_posted_for_it_is_ignored(app: Flask) -> None:
    family = asked("name", "family_name", label="Family name", prefill="family_name")
    phone = asked("phone", "phone", label="Phone")
    fields = [family, phone]
    stored = {"family_name": "山田"}
    form, valid = submit(
        app,
        fields,
        {"family_name": "Hacker", "phone": "03-1234-5678"},
        stored,
        locked={"family_name"},
    )
    assert valid
    assert form.answers() == {"phone": "0312345678"}
    assert form.field_for("family_name").data == "山田"
    form, valid = submit(app, fields, {"phone": "0312345678"}, stored, locked={"family_name"})
    assert valid and "family_name" not in form.answers()
    html = shown(app, fields, stored, locked={"family_name"})
    assert 'name="family_name"' not in html and ">山田</p>" in html
    assert "cannot be changed here" in html


# Rendering ------------------------------------------------------------------------------


def test_stored_answers_are_shown_again_with_helpful_attributes(app: Flask) -> None:
    family = asked("name", "family_name", label="Family name", prefill="family_name")
    amount = asked(
        "number", "rent", validation={"integer": True, "unit": {"ja": "円", "en": "yen"}}
    )
    fields = [
        family,
        asked("postal_code", "postal_code"),
        amount,
        asked("email", "email"),
        asked("kana", "kana"),
        asked("phone", "phone"),
        asked("text", "town"),
        asked("textarea", "notes"),
        asked("yes_no", "married"),
        NEW_ADDRESS,
    ]
    answers = {
        "family_name": "山田",
        "postal_code": "100-0013",
        "rent": 85000,
        "email": "taro@example.jp",
        "kana": "ヤマダ",
        "phone": "0312345678",
        "town": "霞が関",
        "notes": "一行目\n二行目",
        "married": False,
        "move.new_address": {"postal_code": "100-0013", "street": "1-3-1", "building": "<b>"},
    }
    html = shown(app, fields, answers)
    assert re.search(r'autocomplete="family-name"[^>]*value="山田"', html)
    assert re.search(
        r'autocomplete="postal-code"[^>]*inputmode="numeric"[^>]*value="100-0013"', html
    )
    assert 'value="85000"' in html and 'id="rent-unit">yen</span>' in html
    assert 'aria-describedby="rent-unit"' in html
    assert re.search(r'type="email" value="taro@example.jp"', html)
    assert re.search(r'lang="ja"[^>]*value="ヤマダ"', html)
    assert re.search(r'type="tel" value="03-1234-5678"', html) and 'value="霞が関"' in html
    assert ">\r\n一行目\n二行目</textarea>" in html
    assert re.search(r'id="married-1" name="married" value="no" checked', html)
    assert re.search(r'id="move__new_address-street"[^>]*value="1-3-1"', html)
    assert 'value="&lt;b&gt;"' in html
    assert '<span class="required-tag">Required</span>' in html


def test_errors_are_described_and_summarized_for_the_right_inputs(app: Flask) -> None:
    fields = [
        asked("text", "a", label="Town"),
        asked("radio", "b", label="Colour", options=COLOURS),
    ]
    form, _valid = submit(app, fields, {})
    with app.test_request_context("/"), force_locale("en"):
        html = render(form, fields)
    assert '<a href="#a">Enter town</a>' in html and '<a href="#b">Select colour</a>' in html
    assert re.search(r'<input aria-describedby="a-error" aria-invalid="true"', html)
    assert 'aria-describedby="b-error"' in html
    assert len(ids(html)) == len(set(ids(html))), "ids are unique"


def test_with_csrf_on_the_token_is_checked(app: Flask) -> None:
    field = asked("text")
    with app.test_request_context("/", method="POST"):
        token = generate_csrf()
        form = page_form([field], {}, formdata=MultiDict({"x": "a", "csrf_token": token}))
        assert form.validate() and form.answers() == {"x": "a"}
        form = page_form([field], {}, formdata=MultiDict({"x": "a"}))
        assert not form.validate() and "csrf_token" in form.errors


def test_input_attributes_help_phones_and_password_managers() -> None:
    assert input_attributes(item("name", prefill="given_name"))["autocomplete"] == "given-name"
    assert "autocomplete" not in input_attributes(item("name"))
    assert input_attributes(item("phone")) == {
        "autocomplete": "tel",
        "inputmode": "tel",
        "spellcheck": "false",
    }
    assert input_attributes(item("text", validation={"max_length": 20}))["maxlength"] == "20"
    assert input_attributes(item("number"))["inputmode"] == "decimal"


def test_a_birth_date_gets_the_bday_tokens(app: Flask) -> None:
    birth = asked("date", "birthdate", prefill="birthdate")
    html = shown(app, [birth], {})
    for part in ("year", "month", "day"):
        assert re.search(rf'id="birthdate-{part}"[^>]*autocomplete="bday-{part}"', html)


# Check your answers ---------------------------------------------------------------------


def test_summaries_in_japanese(app: Flask) -> None:
    address = {
        "postal_code": "100-0013",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "霞が関",
        "street": "1-3-1",
        "building": "中央合同庁舎第2号館",
        "municipality_code": "131016",
    }
    rent = item("number", validation={"integer": True, "unit": {"ja": "円", "en": "yen"}})
    with app.test_request_context("/"), force_locale("ja"):
        assert summarize(item("date"), "2025-01-02") == "2025年1月2日（令和7年1月2日）"
        assert summarize(item("address"), address) == (
            "〒100-0013 東京都千代田区霞が関1-3-1 中央合同庁舎第2号館"
        )
        assert summarize(item("radio", options=COLOURS), "blue") == "青"
        assert summarize(item("checkbox", options=COLOURS), ["red", "green"]) == "赤、緑"
        assert summarize(rent, 85000) == "85,000円"
        # はい and 1件 come from the catalog: test_translations checks it has them.
        assert summarize(CHILDREN.item, STORED_CHILDREN[:1]) == [
            ngettext("%(num)d entry", "%(num)d entries", 1),
            "子 1：氏名：山田 花子、生年月日：2020年4月1日（令和2年4月1日）、"
            f"同居：{gettext('Yes')}",
        ]
        assert summarize(item("yes_no"), False) == gettext("No")
        assert summarize(item("file"), "proof.pdf") == "proof.pdf"
        assert summarize(item("text"), None) == "" and summarize(item("group"), []) == ""


def test_summaries_in_english(app: Flask) -> None:
    rent = item("number", validation={"integer": True, "unit": {"ja": "円", "en": "yen"}})
    with app.test_request_context("/"), force_locale("en"):
        assert summarize(item("date"), "2025-01-02") == "January 2, 2025"
        assert summarize(item("yes_no"), True) == "Yes"
        assert summarize(item("yes_no"), False) == "No"
        assert summarize(item("select", options=COLOURS), "green") == "Green"
        assert summarize(rent, 85000) == "85,000 yen"
        assert summarize(item("number"), 12.5) == "12.5"
        assert summarize(item("textarea"), "one\ntwo") == ["one", "two"]
        assert summarize(CHILDREN.item, STORED_CHILDREN) == [
            "2 entries",
            "Child 1: Name: 山田 花子; Date of birth: April 1, 2020; Lives with you: Yes",
            "Child 2: Name: 山田 次郎; Date of birth: June 15, 2022; Lives with you: No",
        ]


def test_a_pages_form_class_is_made_once_and_speaks_each_language(app) -> None:
    """Form classes are cached per page; labels still follow each request's language."""
    from flask_babel import force_locale

    from portal.definitions.model import Field as FieldDef
    from portal.definitions.model import Item as ItemDef
    from portal.definitions.model import Text as TextDef

    item = ItemDef(key="a.b", type="text", label=TextDef("氏名", "Name"))
    fields = (FieldDef(key="a.b", item=item),)
    with app.test_request_context():
        with force_locale("ja"):
            first = page_form(fields, {}, formdata=None, meta={"csrf": False})
            assert "氏名" in str(first["a__b"].label)
        with force_locale("en"):
            second = page_form(fields, {}, formdata=None, meta={"csrf": False})
            assert "Name" in str(second["a__b"].label)
    assert type(first) is type(second)


def test_answers_read_without_a_form_or_a_request(app: Flask) -> None:
    """The back office and PDFs summarize answers with no request and no WTForms loaded."""
    import subprocess
    import sys

    code = (
        "import sys; import portal.journey.fields.summary; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('wtforms', 'flask_wtf')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
    with app.app_context(), force_locale("ja"):
        assert summarize(item("date"), "2019-05-01") == "2019年5月1日（令和元年5月1日）"
        assert summarize(item("phone"), "0312345678") == "03-1234-5678"


# Every type: one normalisation step, a message in each language -------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("time", "１４：０５", "14:05"),
        ("time", " 9:05 ", "09:05"),
        ("time", "14時05分", "14:05"),
        ("digits", "０１２３４５６", "0123456"),
        ("digits", "012 3456", "0123456"),
        ("number", "１，５００", 1500),
        ("postal_code", "〒１００ー００１３", "100-0013"),
        ("phone", "０３（１２３４）５６７８", "0312345678"),
        ("text", "  Ｔｏｗｅｒ  ", "Ｔｏｗｅｒ"),  # free text is trimmed, not narrowed
    ],
)
def test_every_type_takes_what_a_phone_keyboard_types(app, kind, typed, stored) -> None:
    rules = {"min_length": 7, "max_length": 7} if kind == "digits" else {}
    assert answer_of(app, asked(kind, validation=rules), {"x": typed}) == stored


@pytest.mark.parametrize(
    ("kind", "typed", "english", "japanese"),
    [
        ("time", "25:99", "Enter a real time", "正しい時刻を入力してください"),
        ("time", "noon", "24-hour clock, like 14:05", "24時間制で入力してください"),
        ("digits", "abcdefg", "Enter numbers only", "数字だけで入力してください"),
        ("digits", "123456", "Enter 7 digits", "7桁の数字で入力してください"),
        ("number", "1" * 5000, "30 digits or fewer", "30桁以下にしてください"),
    ],
)
def test_every_type_refuses_with_a_message_in_each_language(
    app, kind, typed, english, japanese
) -> None:
    rules = {"min_length": 7, "max_length": 7} if kind == "digits" else {}
    field = asked(kind, validation=rules)
    assert any(english in error for error in errors_of(app, field, {"x": typed}))
    with posting(app, {"x": typed}), force_locale("ja"):
        form = page_form([field], {}, meta=NO_CSRF)
        assert not form.validate()
        assert japanese in " ".join(form.field_for("x").errors)
        html = render(form, [field])
    assert html.count(japanese) == 2  # beside the field and in the error summary
    assert f'value="{typed}"' in html  # what was typed is kept


def test_a_time_and_a_code_keep_their_shape_when_shown_again(app) -> None:
    fields = [asked("time", "at"), asked("digits", "account")]
    html = shown(app, fields, {"at": "09:05", "account": "0012345"})
    assert 'value="09:05"' in html and 'value="0012345"' in html
    assert re.search(
        r'id="account"[^>]*inputmode="numeric"|inputmode="numeric"[^>]*id="account"', html
    )


# Era dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "day", "stored"),
    [
        ("令和8", "4", "1", "2026-04-01"),
        ("R8", "4", "1", "2026-04-01"),
        ("Ｒ８", "４", "１", "2026-04-01"),
        ("令和元年", "5", "1", "2019-05-01"),
        ("平成31年", "4", "30", "2019-04-30"),
        ("㍻31", "4", "30", "2019-04-30"),
    ],
)
def test_a_date_may_be_typed_in_the_japanese_calendar(app, year, month, day, stored) -> None:
    data = {"x-year": year, "x-month": month, "x-day": day}
    assert answer_of(app, asked("date"), data) == stored


def test_a_date_outside_its_era_is_refused_with_the_era_s_dates(app) -> None:
    data = {"x-year": "平成31", "x-month": "5", "x-day": "1"}
    assert errors_of(app, asked("date"), data) == ["平成 ended on April 30, 2019"]
    with posting(app, data), force_locale("ja"):
        form = page_form([asked("date")], {}, meta=NO_CSRF)
        assert not form.validate()
        assert form.field_for("x").errors == [
            "平成は2019年4月30日（平成31年4月30日）で終わりました。年を確かめてください"
        ]


def test_the_year_input_lets_an_era_be_typed(app) -> None:
    html = shown(app, [asked("date")], {})
    year = re.search(r'<input[^>]*id="x-year"[^>]*>', html).group()
    assert 'maxlength="6"' in year and "inputmode" not in year
    assert re.search(r'<input[^>]*id="x-day"[^>]*inputmode="numeric"', html)


# No 500 from what is posted -------------------------------------------------------------


@pytest.mark.parametrize("part", ["day", "month"])
def test_a_very_long_day_or_month_is_a_message(app, part) -> None:
    data = {"x-year": "2020", "x-month": "1", "x-day": "1", f"x-{part}": "1" * 5000}
    assert errors_of(app, asked("date"), data) == ["Enter a real date"]


@pytest.mark.parametrize(
    "posted",
    [
        {"children-" + "9" * 5000 + "-name": "花子"},
        {"children-²-name": "花子"},
        {"remove": "children-" + "9" * 5000},
        {"remove": "children-²"},
        {"lookup": "children-" + "9" * 5000 + "-address"},
    ],
)
def test_entry_indices_posted_are_read_safely(app, posted) -> None:
    form, _valid = submit(app, [CHILDREN], {**entry_data(0, "花子"), **posted})
    assert len(form.field_for("children").entries) == 1
    assert form.group_action() is None and form.lookup_request() is None


# Through the whole stack ----------------------------------------------------------------

WITHIN = {
    "filing.proxy": False,
    "move.scope": "within",
    "move.new_address": {"postal_code": "100-0013", "street": "1-3-1", "building": ""},
}


def _date_page(resident: Any) -> tuple[Any, str, dict[str, str]]:
    """A resident on the moving journey's "when did you move" page, and its form's token."""
    from tests.support.html import post_form

    person = resident("yamada-taro")
    person.walk(person.start("moving"), WITHIN, until="/q-move.date")
    page_url = person.start("moving")
    form = post_form(person.client.get(page_url).text)
    return person, page_url, {"csrf_token": form.fields["csrf_token"]}


def test_a_resident_types_the_date_in_the_japanese_calendar(app, resident) -> None:
    from portal.db import db
    from portal.japan.dates import japanese_era
    from portal.japan.values import today_in_japan
    from portal.journey.models import Case

    person, page_url, data = _date_page(resident)
    day = today_in_japan()
    era_year = japanese_era(day).split("年")[0]  # 令和8
    response = person.client.post(
        page_url,
        data={
            **data,
            "move__date-year": era_year,
            "move__date-month": str(day.month),
            "move__date-day": str(day.day),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Case, person.case_id).answers["move.date"] == day.isoformat()


@pytest.mark.parametrize("part", ["year", "month", "day"])
def test_a_5000_digit_date_part_is_a_422_with_the_field_s_message(resident, part) -> None:
    person, page_url, data = _date_page(resident)
    parts = {"year": "2020", "month": "1", "day": "1", part: "9" * 5000}
    response = person.shown_again(
        page_url,
        person.client.post(
            page_url, data={**data, **{f"move__date-{p}": v for p, v in parts.items()}}
        ),
    )
    assert response.status_code == 422
    message = (
        "年は西暦の4桁で入力してください" if part == "year" else "正しい日付を入力してください"
    )
    assert response.text.count(message) == 2  # beside the field and in the summary


def test_an_upload_s_unsafe_name_is_cleaned_and_downloads(app, resident) -> None:
    from sqlalchemy import select

    from portal.db import db
    from portal.journey.models import Attachment
    from tests.support.html import post_form
    from tests.support.journey import name_of

    person = resident("yamada-taro")
    answers = {
        **WITHIN,
        "move.scope": "between",
        "filing.proxy": True,
        "principal.address": {"postal_code": "100-0013", "street": "1-3-1", "building": ""},
        "principal.birthdate": "1950-01-01",
        "move.new_address": {"postal_code": "231-0021", "street": "1", "building": ""},
    }
    person.walk(person.start("moving"), answers, until="/d-mic.tenshutsu")
    page_url = person.start("moving")
    for sent in ("\u202efdp.exe", "委任状\x00\r\n.pdf"):
        form = post_form(person.client.get(page_url).text)
        response = person.client.post(
            page_url,
            data={
                "csrf_token": form.fields["csrf_token"],
                name_of("filing.delegation_letter"): (BytesIO(PDF), sent),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.text
        with app.app_context():
            attachment = db.session.scalars(
                select(Attachment).filter_by(case_id=person.case_id)
            ).one()
            filename, attachment_id = attachment.filename, attachment.id
        assert filename in ("fdp.exe.pdf", "委任状.pdf")
        download = person.client.get(f"/cases/{person.case_id}/attachments/{attachment_id}")
        assert download.status_code == 200 and download.data == PDF
        disposition = download.headers["Content-Disposition"]
        assert "\u202e" not in disposition and "\r" not in disposition
        assert disposition.startswith("attachment")
        download.close()


def test_an_email_typed_in_full_width_is_kept_in_ascii(app) -> None:
    assert (
        answer_of(app, asked("email"), {"x": "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"}) == "taro@example.jp"
    )
