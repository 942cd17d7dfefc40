"""Kinds are data: a form names its certificate's template, and ``definitions check`` refuses
one that does not exist. The one rendering helper fetches nothing but ``data:`` and our own
static files, and renders with one font configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.certificates import codes, rendering
from portal.certificates.services import masked_name
from portal.definitions.checker import check
from portal.definitions.sources import read_sources
from tests.definitions import minimal


def _problems(tmp_path: Path, certificate: dict) -> list[str]:
    data = minimal.definitions()
    data["forms"]["mic/tenshutsu"]["certificate"] = certificate
    return [str(p) for p in check(read_sources(*minimal.write(tmp_path, data)))]


def test_a_form_names_a_template_that_exists(tmp_path: Path) -> None:
    title = {"ja": "転出証明書", "en": "Moving-out certificate"}
    assert _problems(tmp_path, {"id": "x", "title": title, "template": "moving_out"}) == []
    assert _problems(tmp_path, {"id": "x", "title": title, "template": "nowhere"}) == [
        "forms/mic/tenshutsu.yaml:certificate/template: "
        "no certificate template 'nowhere' in templates/certificates/"
    ]
    refused = _problems(tmp_path, {"id": "x", "title": title, "issued_on": ["rejected"]})
    assert refused and "template" in refused[0]


def _page(body: str) -> str:
    return f'<html lang="ja"><head><title>t</title></head><body><p>証明</p>{body}</body></html>'


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/logo.png",
        f"{rendering.STATIC_BASE}../../setup.cfg",
    ],
)
def test_the_fetcher_refuses_what_is_not_ours(url: str) -> None:
    with pytest.raises(rendering.RefusedURL):
        rendering.render_pdf(_page(f'<img src="{url}">'))


def test_data_urls_and_our_static_files_render() -> None:
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    pdf = rendering.render_pdf(_page(f'<img src="{pixel}"><img src="favicon.svg">'))
    assert pdf.startswith(b"%PDF-")
    assert rendering.font_config() is rendering.font_config()  # one for every render


def test_serials_and_codes_read_as_typed() -> None:
    serial = codes.new_serial()
    assert len(serial) == 19 and serial.count("-") == 3
    assert codes.normalized(serial.lower().replace("-", " "), codes.SERIAL_LENGTH) == serial
    assert codes.normalized("7qk2 m9xd", codes.CODE_LENGTH) == "7QK2-M9XD"
    assert codes.normalized("O1IL-0000", codes.CODE_LENGTH) == "0111-0000"
    assert codes.normalized("7QK2-M9XU", codes.CODE_LENGTH) is None  # U is not a symbol
    assert codes.normalized("7QK2", codes.CODE_LENGTH) is None


def test_a_holders_name_is_partly_masked() -> None:
    assert masked_name("山田 太郎") == "山＊ 太＊"
    assert masked_name("Taro Yamada") == "T*** Y*****"
