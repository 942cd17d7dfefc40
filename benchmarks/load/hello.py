"""The ceiling for ``benchmarks/load/run.py --ceiling``: Flask saying hello, nothing else.

Served by ``run.py`` with the portal's own gunicorn settings (the repository's
``gunicorn.conf.py``, the same workers), and hit by locust's plain ``Hello`` user for as
long as the portal was: what this machine, gunicorn and locust manage together with no
application in the way.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello"


@app.get("/healthz")
def healthz() -> str:
    return "ok"
