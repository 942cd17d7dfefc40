"""The mailbox's one form: a CSRF-protected button."""

from flask_wtf import FlaskForm


class MarkAllReadForm(FlaskForm):
    """Mark every message read."""
