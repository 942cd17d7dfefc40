"""Entry point for WSGI servers: ``gunicorn wsgi:app``.

Run it from the repository's folder, so that gunicorn reads ``gunicorn.conf.py``: there
gunicorn trusts no forwarded header, and ``PORTAL_TRUSTED_PROXIES`` alone decides.
"""

import gc

from sqlalchemy.orm import configure_mappers

from portal import create_app

app = create_app()

# Made now, in gunicorn's master (preload_app), what every worker would otherwise make on its
# first requests, again after each max_requests replacement: each template compiled (25-80 ms
# each on first use, measured with benchmarks/load/profiles.py) and the mappers configured.
for template in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
    app.jinja_env.get_template(template)
configure_mappers()

# What exists now (modules, the app, its mappers: some 120,000 objects) lives as long as the
# process. Kept out of the cycle collector's scans, a full collection stops costing about a
# millisecond per request on average; refcounting still frees any of it that goes.
gc.collect()
gc.freeze()
