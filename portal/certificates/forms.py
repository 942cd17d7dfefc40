"""The verify page's form: serial and code as printed, and optionally the PDF to compare."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.casework.models import REASON_MAX
from portal.certificates import codes


class VerifyForm(FlaskForm):
    serial = StringField(
        _l("Serial number"),
        validators=[
            DataRequired(_l("Enter the serial number printed on the certificate.")),
            Length(max=40, message=_l("A serial number has 16 letters and digits.")),
        ],
    )
    code = StringField(
        _l("Verification code"),
        validators=[
            DataRequired(_l("Enter the verification code printed on the certificate.")),
            Length(max=20, message=_l("A verification code has 8 letters and digits.")),
        ],
    )
    document = FileField(_l("The certificate's PDF file (optional)"))

    def validate_serial(self, field: Any) -> None:
        normalized = codes.normalized(field.data or "", codes.SERIAL_LENGTH)
        if normalized is None:
            raise ValidationError(_l("A serial number has 16 letters and digits."))
        field.data = normalized

    def validate_code(self, field: Any) -> None:
        normalized = codes.normalized(field.data or "", codes.CODE_LENGTH)
        if normalized is None:
            raise ValidationError(_l("A verification code has 8 letters and digits."))
        field.data = normalized

    def uploaded_pdf(self, limit: int) -> bytes | None:
        """The uploaded file's bytes (at most ``limit``), or None when none was given."""
        upload = self.document.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        data: bytes = upload.read(limit + 1)
        if len(data) > limit:
            self.document.errors = [*self.document.errors, _l("The file is too large.")]
            return None
        return data


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Why it is revoked"),
        description=_l(
            "The holder reads this in their mailbox, and it shows when anyone checks it."
        ),
        validators=[
            DataRequired(_l("Enter why the certificate is revoked.")),
            Length(max=REASON_MAX, message=_l("The answer must be %(max)d characters or fewer")),
        ],
    )
