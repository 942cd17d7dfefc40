"""Files that belong to database rows, and what an upload may be and be called.

A replaced upload is deleted after the commit (a rollback keeps the row, so it keeps the
file); a new upload is deleted after a rollback (its row was never stored). An upload is
checked by what it opens as (:func:`upload_kind`) and its name made safe to show and to send
back (:func:`clean_filename`).
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.japan.values import InvalidValue

_ON_COMMIT = "files_to_delete_on_commit"
_ON_ROLLBACK = "files_to_delete_on_rollback"


def delete_after_commit(session: Session, path: Path) -> None:
    session.info.setdefault(_ON_COMMIT, []).append(path)


def delete_after_rollback(session: Session, path: Path) -> None:
    session.info.setdefault(_ON_ROLLBACK, []).append(path)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _delete(session.info.pop(_ON_COMMIT, []))
    session.info.pop(_ON_ROLLBACK, None)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: object) -> None:
    if session.in_transaction():
        return  # a savepoint rolled back; the outer transaction still decides
    _delete(session.info.pop(_ON_ROLLBACK, []))
    session.info.pop(_ON_COMMIT, None)


def _delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


# Uploads: what a file is, and what it may be called -------------------------------------

#: What an upload may be, by the format its content opens as.
UPLOAD_KINDS = {
    "PDF": ("application/pdf", "pdf"),
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
}
#: Limits that keep checking cheap: an image's pixels (a decompression bomb is a small file
#: that decodes to gigabytes) and a PDF's pages.
MAX_IMAGE_PIXELS = 50_000_000
MAX_PDF_PAGES = 200
#: The longest name kept for a file, in characters, its extension included.
MAX_FILENAME_LENGTH = 120

_ONE_DOT_OR_MORE = re.compile(r"^\.+")
#: The extensions a name may keep for each kind; any other gets the kind's own added.
_SUFFIXES = {"jpg": {"jpg", "jpeg"}, "pdf": {"pdf"}, "png": {"png"}}


def upload_kind(data: bytes) -> tuple[str, str]:
    """``(content_type, extension)`` of an upload that really opens as a PDF, JPEG or PNG.

    Its first bytes are not enough (``%PDF-`` followed by any text would pass): an image must
    open and decode in Pillow, a PDF must have a readable page tree in pypdf. Raises
    :class:`~portal.japan.values.InvalidValue` with the message for the resident.
    """
    if data.startswith(b"%PDF-"):
        _check_pdf(data)
        return UPLOAD_KINDS["PDF"]
    if data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        return UPLOAD_KINDS[_check_image(data)]
    raise InvalidValue(_l("The file must be a PDF, JPEG or PNG"))


def _damaged() -> InvalidValue:
    return InvalidValue(_l("The file is damaged or is not a real PDF, JPEG or PNG"))


def _check_image(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    too_large = InvalidValue(
        _l(
            "The image must be %(count)d megapixels or fewer",
            count=MAX_IMAGE_PIXELS // 1_000_000,
        )
    )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it: here that is a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
        with image:
            image_format = str(image.format)
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise too_large
            if image_format == "JPEG":
                # Decoding at an eighth of the size reads every byte for a fraction of the work.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
            else:
                image.verify()  # every chunk's checksum, through to the end
    except InvalidValue:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _damaged() from None
    return image_format


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvalidValue(_l("The PDF must not be protected by a password"))
        pages = len(reader.pages)
        if pages > MAX_PDF_PAGES:
            raise InvalidValue(
                _l("The PDF must have %(count)d pages or fewer", count=MAX_PDF_PAGES)
            )
        if pages == 0:
            raise _damaged()
        reader.pages[0].mediabox  # noqa: B018 - the first page must be a real page
    except InvalidValue:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError):
        raise _damaged() from None


def clean_filename(raw: str | None, extension: str) -> str:
    """The name an upload is shown and downloaded under: readable, safe in a header.

    Browsers send whatever the resident's system allows: a full Windows path, control
    characters (NUL, CR, LF break the download's headers), and bidirectional controls or other
    format characters that make ``\\u202efdp.exe`` read as "exe.pdf". Only the last path
    component is kept, every Unicode control and format character (Cc, Cf), line and
    paragraph separator is taken out, spaces are collapsed, leading dots dropped and the name
    shortened, keeping its extension. A name that does not end with the content's
    ``extension`` gets it added (``fdp.exe.pdf``); one left empty is ``document.<extension>``.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if unicodedata.category(char) in ("Zl", "Zp") else char
        for char in name
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn")
        or char in "\t\n\r"  # whitespace: collapsed below
    )
    name = _ONE_DOT_OR_MORE.sub("", " ".join(name.split()))
    if not name:
        return f"document.{extension}"
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix.lower() not in _SUFFIXES.get(extension, {extension}):
        stem, suffix = name, extension  # the name says what the content is: fdp.exe.pdf
    stem = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1].rstrip() or "document"
    return f"{stem}.{suffix}"
