"""gunicorn's settings for the portal, read from the working directory (``gunicorn wsgi:app``).

The portal alone decides whom to believe about the original scheme, host and client:
``PORTAL_TRUSTED_PROXIES`` (werkzeug's ProxyFix). gunicorn would otherwise take
``X-Forwarded-Proto`` and friends from any peer on 127.0.0.1 by default, so a request through
a local proxy would be read twice, or believed when the setting says to trust no one.
"""

forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
