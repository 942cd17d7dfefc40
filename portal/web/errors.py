"""Error pages in the resident's language, with our headers; never a bare 500."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from werkzeug.exceptions import HTTPException

from portal.extensions import db, login_manager
from portal.web.security import apply_security_headers, forget_session_changes

#: What the database raises when it did not answer or dropped the connection (a restart, a
#: failover, no connection to be had), or refused this transaction for now (a deadlock, a
#: serialization failure): the request may simply be sent again.
UNAVAILABLE = (OperationalError, InterfaceError, PendingRollbackError)

#: Seconds a browser or a client is asked to wait before sending again when the database
#: does not answer (restarting, failing over, too busy to take a connection).
RETRY_AFTER_SECONDS = 5

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
    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template("errors/csrf.html"), 400


def _http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    if error.code >= 500:
        # A failed commit (after the view) arrives here as a 500 wrapping what the database
        # said.
        said = getattr(error, "original_exception", None)
        invalidated = isinstance(said, DBAPIError) and said.connection_invalidated
        if invalidated or isinstance(said, UNAVAILABLE):
            return _database_unavailable(error)
        forget_session_changes()
    return _error_page(error.code)


def _database_unavailable(error: BaseException) -> Response:
    """503 with Retry-After and a page that says to send again, drawn without the database:
    the page shows no account (its name and mailbox would need the database)."""
    current_app.logger.warning("database unavailable: %s", error)
    db.session.rollback()
    forget_session_changes()
    g._login_user = login_manager.anonymous_user()
    response = _error_page(503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


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
