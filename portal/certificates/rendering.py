"""WeasyPrint behind one helper: HTML in, PDF bytes out.

- The URL fetcher serves ``data:`` URLs and our own static files only; ``file:``, ``http:``
  and anything else stop the render (a template or an answer can never make the server read
  a local file or call out).
- One :class:`FontConfiguration` for every render of the process: a new one per render made
  memory grow towards 1 GB after a hundred renders (see measured.md).
- WeasyPrint is imported on the first render, not at start-up (about 0.6 s).
- Tagged PDF (PDF/UA-1: title, language, structure) with the fonts embedded as subsets.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration

#: The base URL of a rendered document: relative URLs resolve below it, to our static files.
STATIC_BASE = "https://static.madoguchi.invalid/"
STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()
PDF_VARIANT = "pdf/ua-1"

_lock = threading.Lock()
_font_config: FontConfiguration | None = None


class RefusedURL(Exception):
    """A document asked for a URL that is not ours (``file:``, another host)."""


def font_config() -> FontConfiguration:
    """The one font configuration of this process."""
    global _font_config
    with _lock:
        if _font_config is None:
            from weasyprint.text.fonts import FontConfiguration

            _font_config = FontConfiguration()
        return _font_config


def render_pdf(html: str) -> bytes:
    """The PDF of ``html`` (a whole document with its ``<title>`` and ``lang``)."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    document = HTML(string=html, base_url=STATIC_BASE, url_fetcher=_fetcher())
    try:
        pdf = document.write_pdf(font_config=font_config(), pdf_variant=PDF_VARIANT, pdf_tags=True)
    except FatalURLFetchingError as refused:  # a BaseException: would pass ``except Exception``
        raise RefusedURL(str(refused)) from None
    assert pdf is not None  # no target given: the bytes
    return pdf


def _fetcher() -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class OwnURLsOnly(URLFetcher):
        """``data:`` and our static files; anything else ends the render."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith(STATIC_BASE):
                path = (STATIC_DIR / url[len(STATIC_BASE) :].split("?")[0]).resolve()
                if path.is_relative_to(STATIC_DIR) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes())
            raise FatalURLFetchingError(f"refused URL in a certificate: {url[:100]!r}")

    return OwnURLsOnly(allowed_protocols=("data",))
