"""Entry point for WSGI servers: ``gunicorn wsgi:app``.

Run it from the repository's folder, so that gunicorn reads ``gunicorn.conf.py``: there
gunicorn trusts no forwarded header, and ``PORTAL_TRUSTED_PROXIES`` alone decides.
"""

from portal import create_app

app = create_app()
