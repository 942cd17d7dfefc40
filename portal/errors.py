"""Error pages in the resident's language; never a bare 500."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template("errors/csrf.html"), 400


def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    return render_template("errors/error.html", status=error.code), error.code


def _unexpected(error: Exception) -> tuple[str, int]:
    from flask import current_app

    current_app.logger.exception("unhandled error")
    return render_template("errors/error.html", status=500), 500
