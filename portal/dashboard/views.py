"""Home page and language choice."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.views import safe_next
from portal.dashboard.forms import LanguageForm
from portal.definitions.services import current_catalog
from portal.journey.forms import StartForm
from portal.journey.presenter import Journey
from portal.journey.queries import cases_of

bp = Blueprint("dashboard", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def home() -> str:
    if not current_user.is_authenticated:
        return render_template("dashboard/welcome.html")
    drafts, submitted = cases_of(current_user)
    return render_template(
        "dashboard/home.html",
        account=current_user,
        workflows=current_catalog().parsed_workflows.values(),
        drafts=drafts,
        submitted=submitted,
        journeys={case.id: Journey(case) for case in [*drafts, *submitted]},
        start_form=StartForm(),
    )


@bp.post("/language")
def choose_language() -> Response:
    form = LanguageForm()
    target = safe_next(request.form.get("next")) or url_for("dashboard.home")
    response = redirect(target)
    if form.validate_on_submit():
        response.set_cookie(
            current_app.config["LANGUAGE_COOKIE_NAME"],
            form.language.data,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
