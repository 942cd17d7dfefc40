"""A certificate's document: its HTML, in the case's language, and the PDF made from it.

Every kind renders ``templates/certificates/<kind>.html`` with the same values, so a new
kind is a new template named by a form's definition, without code. Outside a request too
(a job): the language is forced to the case's, and the verify URL is built from
``BASE_URL``, never from a ``Host`` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import gettext as _
from markupsafe import Markup

from portal.casework.lifecycle import RequestStatus
from portal.certificates.models import Certificate
from portal.certificates.rendering import render_pdf
from portal.i18n import current_language, force_locale
from portal.japan.clock import in_japan
from portal.japan.dates import japanese_era
from portal.journey import flow
from portal.journey.fields.summary import summarize
from portal.journey.models import ProcedureRequest
from portal.web.security import url_path

#: Where a verify URL points in development without ``BASE_URL`` (production requires it).
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def verify_url(serial: str, code: str) -> str:
    """The URL the QR code holds: ``<BASE_URL>/verify/<serial>?c=<code>``, from settings only
    (in development without ``BASE_URL``, the development address), in a request or a job."""
    base = current_app.config["BASE_URL"].rstrip("/") or DEVELOPMENT_BASE_URL
    return base + url_path("certificates.verify_link", serial=serial, c=code)


def qr_svg(data: str) -> Markup:
    """The QR code as inline SVG (vector, sharp at any print size), 30 mm wide."""
    code = segno.make(data, error="m")
    scale = 30 / code.symbol_size(border=4)[0]
    return Markup(code.svg_inline(scale=scale, unit="mm", border=4, omitsize=False))


@dataclass(frozen=True)
class Row:
    label: str
    value: str | list[str]


@dataclass(frozen=True)
class Filed:
    """One request as a certificate lists it: its form, where it went, what was entered."""

    title: str
    legal_basis: str
    counter: str
    rows: list[Row]


def filed(request: ProcedureRequest) -> Filed:
    """Everything the resident entered for this request, as filed (its frozen answers)."""
    form = request.form_definition
    answers = request.answers
    files = {a.field_key: a.filename for a in request.case.attachments}
    rows = []
    for field in form.fields():
        if not flow.visible(field, answers):
            continue
        if field.item.type == "file":
            value: str | list[str] = files.get(field.key, "")
        else:
            value = summarize(field.item, answers.get(field.key))
        if value:
            rows.append(Row(str(field.item.summary_label or field.item.label), value))
    return Filed(str(form.title), str(form.legal_basis), request.counter, rows)


def title_of(certificate: Certificate) -> str:
    """In the current language: the form's certificate title, or 申請控え for a receipt."""
    if certificate.request is None:
        return _("Submission receipt")
    title = certificate.request.form_definition.certificate_title
    return str(title) if title else str(certificate.request.form_definition.title)


def dates(moment: datetime) -> dict[str, str]:
    """The day in Japan, western (2026年12月2日, December 2, 2026) and in the era (令和8年12月2日),
    which Japanese certificates print side by side."""
    day = in_japan(moment).date()
    western = (
        f"{day.year}年{day.month}月{day.day}日"
        if current_language() == "ja"
        else format_date(day, format="long", locale="en")
    )
    return {"western": western, "era": japanese_era(day)}


def context(certificate: Certificate, code: str, issued_at: datetime) -> dict[str, Any]:
    """What every certificate template is given."""
    case = certificate.case
    request = certificate.request
    url = verify_url(certificate.serial, code)
    reason = ""
    if request is not None and certificate.decision == RequestStatus.REJECTED.value:
        reason = next(
            (e.reason for e in reversed(request.events) if e.to_status is RequestStatus.REJECTED),
            "",
        )
    department = certificate.department
    return {
        "certificate": certificate,
        "title": title_of(certificate),
        "language": certificate.language,
        "issuer": certificate.municipality.seat.name,
        "department": department.name if department is not None else "",
        "holder_name": certificate.holder.display_name,
        "receipt_number": case.receipt_number,
        "submitted": dates(case.submitted_at) if case.submitted_at else None,
        "decided": dates(request.decided_at) if request and request.decided_at else None,
        "issued": dates(issued_at),
        "decision": certificate.decision,
        "reason": reason,
        "request": filed(request) if request is not None else None,
        "requests": [filed(r) for r in case.requests] if request is None else [],
        "serial": certificate.serial,
        "code": code,
        "verify_url": url,
        "verify_page": url.partition("/verify/")[0] + "/verify",
        "qr": qr_svg(url),
    }


def render_html(certificate: Certificate, code: str, issued_at: datetime) -> str:
    with force_locale(certificate.language):
        return render_template(
            f"certificates/{certificate.kind}.html", **context(certificate, code, issued_at)
        )


def render(certificate: Certificate, code: str, issued_at: datetime) -> bytes:
    """The certificate's PDF, before sealing (see ``services.seal``)."""
    return render_pdf(render_html(certificate, code, issued_at))
