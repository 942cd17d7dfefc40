"""Forms every module uses."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A button and its CSRF token, for a POST that carries nothing else: deleting a draft,
    cancelling a visit, marking messages read."""
