"""Error pages in the resident's language, with our headers; never a bare 500."""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.web.security import apply_security_headers, forget_session_changes

#: What is left when even the error page cannot be rendered (e.g. the templates' own
#: lookups fail): plain, in both languages, still with our headers.
_LAST_RESORT = (
    '<!doctype html><html lang="ja"><meta charset="utf-8"><title>エラー / Error</title>'
    "<h1>申し訳ありません。サービスに問題が発生しています。</h1>"
    "<p>Sorry, there is a problem with the service. Please try again later.</p></html>"
)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template("errors/csrf.html"), 400


def _http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    if error.code >= 500:
        forget_session_changes()
    return _error_page(error.code)


def _unexpected(error: Exception) -> Response:
    current_app.logger.exception("unhandled error")
    forget_session_changes()
    return _error_page(500)


def _error_page(status: int) -> Response:
    try:
        return Response(render_template("errors/error.html", status=status), status)
    except Exception:
        current_app.logger.exception("the error page could not be rendered")
        response = Response(_LAST_RESORT, status, content_type="text/html; charset=utf-8")
        apply_security_headers(response)
        return response
