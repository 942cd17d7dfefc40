"""Small real documents to upload: each opens as what it claims, as the portal checks."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfWriter


def pdf(pages: int = 1) -> bytes:
    """A PDF of blank A4 pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A small grey JPEG or PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, (128, 128, 128)).save(out, format=kind)
    return out.getvalue()


PDF = pdf()
JPEG = image("JPEG")
PNG = image("PNG")
