"""Extensions, created unbound and initialised in the app factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from portal.db import db

V = TypeVar("V", bound=Callable[..., object])

#: The attribute naming a view's limit: the setting that holds it.
RATE_LIMIT_ATTRIBUTE = "rate_limit_setting"


class RateLimits:
    """Named request limits per client address, e.g. ``@limits.verify`` on the /verify views.

    A view is marked with the setting that holds its limit; :meth:`init_app`, once the app's
    views are registered, gives the app a limiter of its own (its storage, its on/off switch:
    another app in the same process, a test's, never shares counters with it) and applies
    each marked view's limit. Views under one name share one budget: ten verifications a
    minute, whichever of the /verify pages they use. The client is ``request.remote_addr``,
    which ProxyFix has set from ``X-Forwarded-For`` when ``PORTAL_TRUSTED_PROXIES`` says to.
    Over the limit: 429 with ``Retry-After``, on our error page in the visitor's language.
    """

    def verify(self, view: V) -> V:
        """``PORTAL_VERIFY_RATE_LIMIT``: checking a certificate (serial and code, QR, upload)."""
        return self.named("VERIFY_RATE_LIMIT")(view)

    def status_list(self, view: V) -> V:
        """``PORTAL_STATUS_LIST_RATE_LIMIT``: downloading a status list (verifiers cache it)."""
        return self.named("STATUS_LIST_RATE_LIMIT")(view)

    @staticmethod
    def named(setting: str) -> Callable[[V], V]:
        def mark(view: V) -> V:
            setattr(view, RATE_LIMIT_ATTRIBUTE, setting)
            return view

        return mark

    def init_app(self, app: Flask) -> None:
        limiter = Limiter(
            get_remote_address,
            app=app,
            storage_uri=app.config["RATELIMIT_STORAGE_URI"],
            strategy="moving-window",
            headers_enabled=True,
            key_prefix="madoguchi",
        )
        limiter.request_filter(lambda: not current_app.config["RATE_LIMITS_ENABLED"])
        app.extensions["rate_limits"] = limiter
        self.apply(app)

    @staticmethod
    def apply(app: Flask) -> None:
        """Wrap each marked view not wrapped yet in its limit (views registered later, as a
        test's, are wrapped by calling this again)."""
        limiter: Limiter = app.extensions["rate_limits"]
        for endpoint, view in list(app.view_functions.items()):
            setting = getattr(view, RATE_LIMIT_ATTRIBUTE, None)
            if setting is None or getattr(view, "rate_limited", False):
                continue
            shared = limiter.shared_limit(app.config[setting], scope=setting.lower())
            wrapped = shared(view)
            wrapped.rate_limited = True  # type: ignore[attr-defined]
            app.view_functions[endpoint] = wrapped


babel = Babel()
csrf = CSRFProtect()
limits = RateLimits()
login_manager = LoginManager()
migrate = Migrate()

__all__ = ["babel", "csrf", "db", "limits", "login_manager", "migrate"]
