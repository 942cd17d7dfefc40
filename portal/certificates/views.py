"""Certificates' URLs: the download (holder and issuing clerks), the clerk's retry, and the
public verify page. Every URL of the module is here."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.audit import services as audit
from portal.audit.models import AccessPurpose
from portal.certificates import codes, documents, services, storage
from portal.certificates.forms import RevokeForm, VerifyForm
from portal.certificates.models import Certificate
from portal.certificates.services import Check
from portal.extensions import limits
from portal.replica import reads_from_replica
from portal.web.forms import ConfirmForm

bp = Blueprint("certificates", __name__)
bp.add_app_template_global(documents.title_of, "certificate_title")


@bp.get("/certificates/<int:certificate_id>/download")
@access.requires(access.CERTIFICATE_READER)
def download(certificate_id: int) -> Response:
    """The stored file itself, byte for byte as issued; staff reading it are recorded."""
    certificate = access.certificate_or_404(certificate_id)
    if not certificate.is_issued or certificate.storage_name is None:
        abort(404)
    if current_user.id != certificate.holder_id:
        audit_request = certificate.request
        audit.record_access(
            certificate.holder,
            staff=current_user,
            municipality=certificate.municipality,
            department=certificate.department,
            form_id=audit_request.form_id if audit_request is not None else None,
            purpose=AccessPurpose.VIEWED_DOCUMENT,
            case=certificate.case,
            request=audit_request,
        )
    data = storage.read(certificate.storage_name)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = _disposition(certificate)
    return response


def _disposition(certificate: Certificate) -> str:
    """A safe ASCII name for every browser, and the title in the language (RFC 5987)."""
    ascii_name = f"certificate-{certificate.serial}.pdf"
    title = documents.title_of(certificate).replace("/", "-")
    unicode_name = f"{title}-{certificate.serial}.pdf"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(unicode_name)}"


@bp.post("/staff/certificates/<int:certificate_id>/retry")
@access.requires(access.CERTIFICATE_ISSUER)
def retry(certificate_id: int) -> Response:
    certificate = access.issued_certificate_or_404(certificate_id)
    form = ConfirmForm()
    if form.validate_on_submit() and services.retry(certificate):
        flash(_("The certificate will be made again."), "success")
    return redirect(_request_page(certificate), 303)


@bp.route("/staff/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@access.requires(access.CERTIFICATE_ISSUER)
def revoke(certificate_id: int) -> Response | tuple[str, int]:
    """Revoking is asked first: the GET says what it means and asks why, its POST revokes."""
    certificate = access.issued_certificate_or_404(certificate_id)
    back = _request_page(certificate)
    if not certificate.is_issued or certificate.is_revoked:
        flash(_("This certificate is not in force: there is nothing to revoke."), "info")
        return redirect(back, 303)
    form = RevokeForm()
    if form.validate_on_submit():
        if services.revoke(certificate, current_user, form.reason.data.strip()):
            flash(_("The certificate %(serial)s is revoked.", serial=certificate.serial), "success")
        return redirect(back, 303)
    page = render_template(
        "certificates/revoke.html", certificate=certificate, form=form, back=back
    )
    return page, 422 if form.errors else 200


def _request_page(certificate: Certificate) -> str:
    """The clerk's page the certificate is listed on: its request's (a receipt's: the case's
    first online request), else the staff home."""
    back = certificate.request_id
    if back is None:
        back = next((r.id for r in certificate.case.requests if r.online), None)
    if back is None:
        return url_for("staff.home")
    return url_for("staff.request", request_id=back)


@bp.route("/verify", methods=["GET", "POST"])
@access.requires(access.ANYONE)
@limits.verify
@reads_from_replica  # the GET only; a POST writes the holder's access record
def verify() -> str | tuple[str, int]:
    """Serial and code as typed (and optionally the PDF): the certificate's status."""
    form = VerifyForm()
    if request.method == "GET":
        return render_template("certificates/verify.html", form=form, result=None)
    if not form.validate():
        return render_template("certificates/verify.html", form=form, result=None), 422
    pdf = form.uploaded_pdf(current_app.config["UPLOAD_MAX_BYTES"])
    if form.document.errors:
        return render_template("certificates/verify.html", form=form, result=None), 422
    check = Check.FILE if pdf is not None else Check.CODE
    return _result(form, services.verify(form.serial.data, form.code.data, check, pdf))


@bp.get("/verify/<serial>")
@access.requires(access.ANYONE)
@limits.verify
def verify_link(serial: str) -> str | tuple[str, int]:
    """The QR code's URL: ``/verify/<serial>?c=<code>``."""
    form = VerifyForm(formdata=None)
    typed_serial = codes.normalized(serial[:40], codes.SERIAL_LENGTH)
    typed_code = codes.normalized(request.args.get("c", "")[:20], codes.CODE_LENGTH)
    form.serial.data = typed_serial or serial[:40]
    form.code.data = typed_code or request.args.get("c", "")[:20]
    if typed_serial is None or typed_code is None:
        return _result(form, None)
    return _result(form, services.verify(typed_serial, typed_code, Check.QR))


def _result(
    form: VerifyForm, result: services.Verified | services.Retired | None
) -> str | tuple[str, int]:
    if isinstance(result, services.Retired):
        return render_template(
            "certificates/verify.html",
            form=form,
            another=VerifyForm(formdata=None),
            retired=result,
            checked=True,
        )
    page = render_template(
        "certificates/verify.html",
        form=form,
        another=VerifyForm(formdata=None) if result is not None else None,
        result=result,
        checked=True,
        masked_name=services.masked_name(result.certificate.holder.display_name) if result else "",
        title=documents.title_of(result.certificate) if result else "",
    )
    return page if result is not None else (page, 404)
