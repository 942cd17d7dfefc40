"""The ceiling for ``benchmarks/journey.py``: a bare page with a 10-field Flask-WTF form.

What a portal page cannot do without: Flask, a signed cookie session holding the CSRF token,
a 10-field Flask-WTF form (CSRF on) rendered by a Jinja template, and one ORM query against
the portal's database. Nothing else: no login, no translations, no security headers.

- ``GET /form``: one query, the form rendered (about 4 KB of HTML).
- ``POST /form``: the form validated, one query, then a redirect to ``GET /form``.

So one ceiling round trip (POST, follow the redirect, GET) has the shape of one journey step.

Served by ``journey.py`` with the same gunicorn settings as the portal::

    CEILING_DATABASE_URL=sqlite:////tmp/x/portal.sqlite3 \\
        gunicorn 'benchmarks.ceiling_app:create_app()'

The database must hold the portal's ``municipalities`` table with the demo data loaded
(``flask --app portal db upgrade`` and ``demo load``); this app only reads it.
"""

from __future__ import annotations

import os

from flask import Flask, redirect, render_template, url_for
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from jinja2 import DictLoader
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.wrappers import Response
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

CHOICES = [("within", "市区町村内"), ("between", "市区町村外"), ("abroad", "国外")]
REASONS = [("work", "仕事"), ("family", "家族"), ("other", "その他")]

#: A valid submission of the form, without the CSRF token (the benchmark posts it).
ANSWERS = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "email": "taro@example.jp",
    "phone": "03-1234-5678",
    "birthdate": "1985-04-12",
    "members": "1",
    "scope": "between",
    "reason": "work",
}

TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="ja">
<head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body>
<header><p>{{ municipality.name_ja }}</p></header>
<main>{% block main %}{% endblock %}</main>
<footer><p>Madoguchi ceiling</p></footer>
</body>
</html>
""",
    "macros.html": """{% macro field(f) %}
<div class="field{% if f.errors %} field--error{% endif %}">
  {{ f.label(class="label") }}
  {% if f.description %}<p class="hint">{{ f.description }}</p>{% endif %}
  {% for error in f.errors %}<p class="field-error">{{ error }}</p>{% endfor %}
  {{ f(class="input") }}
</div>
{% endmacro %}
""",
    "form.html": """{% extends "base.html" %}
{% from "macros.html" import field %}
{% block title %}転出届 — {{ municipality.name_ja }}{% endblock %}
{% block main %}
<h1>転出届</h1>
<form method="post" action="{{ url_for('form_page') }}" novalidate>
  {{ form.csrf_token }}
  {% for f in form if f.name != "csrf_token" %}{{ field(f) }}{% endfor %}
  <button type="submit">次へ</button>
</form>
{% endblock %}
""",
}


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Municipality(db.Model):
    """The columns read of the portal's ``municipalities`` table."""

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6))
    name_ja: Mapped[str] = mapped_column(String(100))


class MovingForm(FlaskForm):
    family_name = StringField("氏", validators=[DataRequired(), Length(max=50)])
    given_name = StringField("名", validators=[DataRequired(), Length(max=50)])
    family_name_kana = StringField(
        "氏（フリガナ）", validators=[DataRequired(), Regexp(r"^[ァ-ヶー　 ]+$")]
    )
    given_name_kana = StringField(
        "名（フリガナ）", validators=[DataRequired(), Regexp(r"^[ァ-ヶー　 ]+$")]
    )
    # WTForms' Email validator needs the email_validator package, which the portal does
    # not install: a pattern, as a portal field of type email would check.
    email = EmailField("メールアドレス", validators=[DataRequired(), Regexp(r"^[^@\s]+@[^@\s]+$")])
    phone = TelField("電話番号", validators=[DataRequired(), Regexp(r"^[0-9-]{10,13}$")])
    birthdate = DateField("生年月日", validators=[DataRequired()])
    members = IntegerField("一緒に移る人数", validators=[NumberRange(min=0, max=20)])
    scope = RadioField("引越し先", choices=CHOICES, validators=[DataRequired()])
    reason = SelectField("理由", choices=REASONS, validators=[Optional()])


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("CEILING_SECRET_KEY", "ceiling-benchmark-secret"),
        SQLALCHEMY_DATABASE_URI=_sqlalchemy_url(os.environ["CEILING_DATABASE_URL"]),
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.jinja_loader = DictLoader(TEMPLATES)
    db.init_app(app)

    def municipality() -> Municipality:
        found = db.session.scalar(select(Municipality).filter_by(code="131016"))
        if found is None:
            raise RuntimeError("no municipality 131016: load the portal's demo data first")
        return found

    @app.route("/form", methods=["GET", "POST"])
    def form_page() -> Response | str | tuple[str, int]:
        form = MovingForm()
        if form.validate_on_submit():
            municipality()
            return redirect(url_for("form_page"))
        status = 422 if form.is_submitted() else 200
        return render_template("form.html", form=form, municipality=municipality()), status

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        municipality()
        return {"status": "ok"}

    return app


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
