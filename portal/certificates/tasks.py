"""The certificates' background work: issuing one."""

from __future__ import annotations

from portal import jobs
from portal.certificates import services
from portal.certificates.services import ISSUE_TASK


@jobs.task(name=ISSUE_TASK, max_attempts=services.MAX_ATTEMPTS, given_up=services.give_up)
def issue_certificate(certificate_id: int) -> None:
    """Idempotent: an issued certificate is not issued again (see ``services.issue``)."""
    services.issue(certificate_id)
