"""The status lists for any verifier, without signing in: ``GET /status-lists/<id>`` and the
key that signs them, ``GET /.well-known/jwks.json``."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, abort, request
from werkzeug.http import http_date

from portal import access
from portal.certificates import statuslist, statuslist_keys
from portal.extensions import limits
from portal.web.security import publicly_cacheable

bp = Blueprint("status_lists", __name__)

#: Browsers' verifiers (a wallet's web page) may fetch the lists from any origin (the
#: draft's section 8.1: CORS); they carry no credentials.
_CORS = {"Access-Control-Allow-Origin": "*", "Vary": "Accept"}
JWKS_MAX_AGE = 3600


@bp.get("/status-lists/<int:list_id>")
@access.requires(access.STATUS_LIST_READER)
@publicly_cacheable
@limits.status_list
def token(list_id: int) -> Response:
    """The signed token (``application/statuslist+jwt``), or its claims unsigned for a reader
    who asks for ``application/statuslist+json``; cacheable for the ``ttl`` it has left.
    Its validators (``ETag``, ``Last-Modified``) come from what it says and the database,
    so every process answers a conditional request alike."""
    wanted = (
        request.accept_mimetypes.best_match([statuslist.MEDIA_TYPE_JWT, statuslist.MEDIA_TYPE_JSON])
        if request.accept_mimetypes
        else statuslist.MEDIA_TYPE_JWT
    )
    if wanted is None:
        abort(406)
    found = access.published_status_list_or_404(list_id)
    if wanted == statuslist.MEDIA_TYPE_JSON:
        body, tag = json.dumps(found.claims), f"{found.digest}-json"
    else:
        body, tag = found.token, found.digest
    changed = found.changed_at.replace(microsecond=0)
    headers = {
        **_CORS,
        "ETag": f'W/"{tag}"',
        "Last-Modified": http_date(changed),
        "Cache-Control": f"public, max-age={found.fresh_for(time.time())}",
    }
    if request.if_none_match:
        unchanged = request.if_none_match.contains_weak(tag)
    else:
        since = request.if_modified_since
        unchanged = since is not None and changed <= since
    if unchanged:
        return Response(status=304, headers=headers)
    return Response(body, 200, headers=headers, content_type=wanted)


@bp.get("/.well-known/jwks.json")
@access.requires(access.ANYONE)
@publicly_cacheable
def jwks() -> Response:
    """The public key of the status lists' signatures, by the ``kid`` in each token."""
    return Response(
        json.dumps(statuslist_keys.public_jwks()),
        200,
        headers={**_CORS, "Cache-Control": f"public, max-age={JWKS_MAX_AGE}"},
        content_type="application/jwk-set+json",
    )
