"""gunicorn's settings for the portal, read from the working directory (``gunicorn wsgi:app``).

The portal alone decides whom to believe about the original scheme, host and client:
``PORTAL_TRUSTED_PROXIES`` (werkzeug's ProxyFix). gunicorn would otherwise take
``X-Forwarded-Proto`` and friends from any peer on 127.0.0.1 by default, so a request through
a local proxy would be read twice, or believed when the setting says to trust no one.

The rest is sized from the cores this process may use, and each value can be set in the
environment (``deploy/portal.env.example`` lists them): ``WEB_CONCURRENCY`` workers,
``GUNICORN_THREADS`` threads each, and the ``GUNICORN_*`` below. A command-line option wins
over both.
"""

import os

forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""

#: More sync workers than this cost memory (each holds its own copy of the app, about 115 MB)
#: and database connections, and add no throughput on one host.
MAX_WORKERS = 12


def _cores() -> int:
    """The cores this process may run on (a cgroup's or ``taskset``'s set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers, 2 x cores + 1: a request waits on the database about as long as it computes
# (form and template rendering), so two per core keep every core busy, the database being on
# a host of its own. Where PostgreSQL shares the cores its work is no wait to fill: cores + 1
# did better there (benchmarks/RESULTS.md), set through WEB_CONCURRENCY.
workers = _number("WEB_CONCURRENCY", min(2 * _cores() + 1, MAX_WORKERS))
threads = _number("GUNICORN_THREADS", 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
# With keep-alive, one gthread worker can take every connection while the others idle
# (measured: /work/shared/measured.md); nginx opens one connection per request anyway.
keepalive = _number("GUNICORN_KEEPALIVE", 0)
# A worker is replaced after this many requests (each worker at its own count, thanks to the
# jitter), so whatever a long-lived process accumulates stays bounded.
max_requests = _number("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _number("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)
# A request that takes longer has hung: its worker is killed and replaced. nginx waits longer
# (proxy_read_timeout 60s), so the client gets nginx's 502, not a connection left open.
timeout = _number("GUNICORN_TIMEOUT", 30)
graceful_timeout = _number("GUNICORN_GRACEFUL_TIMEOUT", 30)

# The app is made once, in the master, before the workers are forked (wsgi.py compiles every
# template there and freezes what it made): a worker starts warm, replaced by max_requests or
# not, and the workers share those pages of memory. The master opens no database connection;
# post_fork drops any pool it might have all the same. Code changes need a restart: a reload
# (HUP) forks new workers from the master's code.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() not in ("0", "false", "no")


def post_fork(server, worker):  # noqa: ANN001, ARG001 - gunicorn's hook signature
    """A forked worker shares no database connection with the master or its siblings."""
    app = server.app.wsgi() if preload_app else None
    if "sqlalchemy" in getattr(app, "extensions", {}):  # the portal (not hello.py, say)
        from portal.db import forget_inherited_connections

        forget_inherited_connections(app)


accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
# The path without its query string (a search may carry a resident's name), the client as the
# proxy saw it, and the time taken in milliseconds.
access_log_format = os.environ.get(
    "GUNICORN_ACCESS_LOG_FORMAT",
    '%({x-forwarded-for}i)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%(a)s"',
)
