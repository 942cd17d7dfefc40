"""Entry point for WSGI servers: ``gunicorn wsgi:app``.

Run it from the repository's folder, so that gunicorn reads ``gunicorn.conf.py``: there
gunicorn trusts no forwarded header, and ``PORTAL_TRUSTED_PROXIES`` alone decides.
"""

import gc

from portal import create_app

app = create_app()

# What exists now (modules, the app, its mappers: some 120,000 objects) lives as long as the
# process. Kept out of the cycle collector's scans, a full collection stops costing about a
# millisecond per request on average; refcounting still frees any of it that goes.
gc.collect()
gc.freeze()
