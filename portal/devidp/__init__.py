"""Madoguchi's development OpenID Connect provider, a stand-in for the My Number card.

Run it beside the portal with ``flask --app portal.devidp run --port 5001``. It signs in the
demo personas (``personas.py``) with their PINs, through a real authorization code flow with
PKCE, so the portal's sign-in is exercised as it will be against the real provider. It
refuses to start when ``PORTAL_ENV=production``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from .config import (
    INSTANCE_PATH,
    PRODUCTION_REFUSAL,
    STATIC_FOLDER,
    TEMPLATE_FOLDER,
    defaults,
    finalize,
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the provider. Settings: defaults, then ``PORTAL_*`` variables, then ``config``."""
    # The portal's instance folder, moved by PORTAL_INSTANCE_PATH like the portal's own, so
    # its demo loader finds the same pairwise salt.
    instance_path = Path(os.environ.get("PORTAL_INSTANCE_PATH") or INSTANCE_PATH)
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(TEMPLATE_FOLDER),
        static_folder=str(STATIC_FOLDER),
    )
    app.config.from_mapping(defaults())
    app.config.from_prefixed_env("PORTAL")
    if config:
        app.config.update(config)
    if str(app.config.get("ENV")) == "production":
        raise RuntimeError(PRODUCTION_REFUSAL)
    finalize(app.config, instance_path)
    _init(app)
    return app


def _init(app: Flask) -> None:
    # Imported here so that ``portal.devidp.subjects``, which the portal's demo loader uses,
    # does not load the provider's web stack.
    from flask_babel import Babel
    from flask_wtf.csrf import CSRFProtect

    from portal.web.templating import field_attributes

    from . import cli, views
    from .i18n import select_locale
    from .keys import secret_key
    from .server import init_provider

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.config["DEVIDP_KEY_DIR"])

    csrf = CSRFProtect(app)
    # Called by clients' servers, not from our pages: no CSRF token to send.
    for view in (views.token, views.userinfo, views.logout):
        csrf.exempt(view)
    Babel(app, locale_selector=select_locale)
    # The portal's ``field`` macro calls this; a global, so macros imported without context see it.
    app.jinja_env.globals["field_attributes"] = field_attributes
    init_provider(app)
    app.register_blueprint(views.bp)
    cli.init_app(app)
