"""A correction, from the resident's side: the page it asks and sending it back.

A clerk names the answers and documents to correct (:class:`~portal.casework.models.Correction`).
The page asks only those, through the journey's own field machinery, filled from the
request's frozen answers, not the case's: what another department decided on stays as filed.
A document is uploaded again beside the one filed (which stays, for the history), and the
request's answers then name the new attachment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.accounts.models import Account
from portal.casework import services as casework
from portal.casework.lifecycle import Action
from portal.casework.models import Correction, RequestEvent
from portal.journey import flow
from portal.journey.models import Attachment, ProcedureRequest


def page_of(request: ProcedureRequest, correction: Correction) -> flow.Page:
    """The fields the correction names, in the form's order; a named document must be
    uploaded again, even one the form leaves optional."""
    form = request.form_definition
    answers = [f for s in form.sections for f in s.fields if f.key in correction.fields]
    documents = [
        form.documents_to_correct[f.key] for f in form.attachments if f.key in correction.documents
    ]
    return flow.Page(
        slug=f"correction-{request.id}",
        kind=flow.SECTION,
        fields=(*answers, *documents),
        form=form,
    )


def uploads_for(request: ProcedureRequest, correction: Correction) -> dict[str, Attachment]:
    """The documents uploaded since the correction was asked, the latest of each key."""
    found: dict[str, Attachment] = {}
    for attachment in request.case.attachments:
        if (
            attachment.field_key in correction.documents
            and attachment.uploaded_at >= correction.asked_at
        ):
            found[attachment.field_key] = attachment
    return found


def document_answer(attachment: Attachment) -> dict[str, Any]:
    """What a request's answers hold for a document uploaded again."""
    return {"attachment_id": attachment.id, "filename": attachment.filename}


def send(request: ProcedureRequest, by: Account, answers: Mapping[str, Any]) -> RequestEvent:
    """Send the corrected answers and documents back to the department: only those asked
    for, to this request only (raises what :func:`~portal.casework.services.act` raises:
    a second send finds the request no longer waiting)."""
    correction = request.open_correction
    changes: dict[str, Any] = {}
    if correction is not None:
        changes = {key: value for key, value in answers.items() if key in correction.fields}
        for key, attachment in uploads_for(request, correction).items():
            changes[key] = document_answer(attachment)
        case = request.case
        if case.unsaved and case.unsaved.get("page") == page_of(request, correction).slug:
            case.unsaved = None
    return casework.act(request, Action.RESUBMIT, by, changes=changes)
