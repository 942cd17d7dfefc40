"""Home page and language choice."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.dashboard.forms import LanguageForm
from portal.definitions.services import current_catalog
from portal.japan.clock import today_in_japan
from portal.journey.forms import StartForm
from portal.journey.presenter import Journey
from portal.journey.queries import cases_of
from portal.web.security import redirect_to_next

bp = Blueprint("dashboard", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@access.requires(access.ANYONE)
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
        today=today_in_japan(),
    )


@bp.post("/language")
@access.requires(access.ANYONE)
def choose_language() -> Response:
    form = LanguageForm()
    response = redirect_to_next(request.form.get("next"))
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
