"""Forms every module uses."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A button and its CSRF token, for a POST that carries nothing else: deleting a draft,
    cancelling a visit, marking messages read."""


class CheckedByCSRFProtectForm(FlaskForm):
    """A form whose page carries the CSRF token once for all its forms: ``CSRFProtect``
    checks every POST's token, so the form does not check it again."""

    class Meta:
        csrf = False
