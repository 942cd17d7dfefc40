"""Madoguchi: one counter for every procedure of a life event."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from portal.config import DEFAULTS, REPO_ROOT, finalize
from portal.db import MAX_ID


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the portal.

    Settings in layers: defaults, ``instance/config.py``, ``PORTAL_*`` variables, ``config``.
    """
    instance_path = Path(os.environ.get("PORTAL_INSTANCE_PATH", REPO_ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(REPO_ROOT / "templates"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    if config:
        app.config.update(config)
    finalize(app.config, instance_path)

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.url_map.converters["int"] = RowId
    _init_extensions(app)
    _register_blueprints(app)
    # Once every view is registered: the limits wrap the views marked for them.
    from portal.extensions import limits

    limits.init_app(app)
    return app


class RowId(IntegerConverter):
    """``<int:...>`` in every route: a row id, 1 to :data:`portal.db.MAX_ID`. A larger number
    names no row, and answers 404 from routing instead of overflowing the database's integer
    (PostgreSQL refuses it: a 500)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _init_extensions(app: Flask) -> None:
    from portal import access, cli, jobs, replica, transactions
    from portal.auth import oidc, sessions
    from portal.certificates import statuslist_keys
    from portal.extensions import babel, csrf, db, login_manager, migrate
    from portal.i18n import select_locale
    from portal.mailbox import templating as mailbox_templating
    from portal.web import errors, security, templating

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(REPO_ROOT / "translations"),
    )
    login_manager.init_app(app)
    oidc.init_app(app)
    sessions.init_app(app)
    # After-request functions run last registered first: the security headers are set before
    # the commit, so a response whose commit fails still carries them; the replica's note of
    # the primary's WAL position is taken after it.
    replica.init_app(app)
    transactions.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    jobs.init_app(app)
    mailbox_templating.init_app(app)
    access.init_app(app)
    statuslist_keys.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from portal.accounts.views import bp as staff_admin_bp
    from portal.audit.views import bp as audit_bp
    from portal.auth.views import bp as auth_bp
    from portal.bookings.views import bp as bookings_bp
    from portal.certificates.statuslist_views import bp as status_lists_bp
    from portal.certificates.views import bp as certificates_bp
    from portal.dashboard.views import bp as dashboard_bp
    from portal.definitions.admin import bp as definitions_admin_bp
    from portal.health.views import bp as health_bp
    from portal.jobs.views import bp as jobs_admin_bp
    from portal.journey.views import bp as journey_bp
    from portal.kpis.views import bp as kpis_bp
    from portal.mailbox.views import bp as mailbox_bp
    from portal.notifications.views import bp as notifications_bp
    from portal.staff.views import bp as staff_bp
    from portal.tenancy.views import bp as tenancy_bp

    for blueprint in (
        audit_bp,
        auth_bp,
        bookings_bp,
        certificates_bp,
        status_lists_bp,
        dashboard_bp,
        definitions_admin_bp,
        health_bp,
        jobs_admin_bp,
        journey_bp,
        kpis_bp,
        mailbox_bp,
        notifications_bp,
        staff_bp,
        staff_admin_bp,
        tenancy_bp,
    ):
        app.register_blueprint(blueprint)
