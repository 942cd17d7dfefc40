"""Forms of the home pages."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField


class LanguageForm(FlaskForm):
    language = SelectField(choices=[SelectChoice("ja", "日本語"), SelectChoice("en", "English")])
    next = HiddenField()
