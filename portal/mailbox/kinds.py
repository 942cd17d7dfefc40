"""What a message can say: per kind, a subject and a body, translated, with named values.

A message stores its kind and values, never rendered text: it is rendered when it is read,
in the reader's language, and for an e-mail in the resident's (``force_locale``).
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


class MessageKind(StrEnum):
    CORRECTION_ASKED = "correction_asked"
    APPROVED = "approved"
    REJECTED = "rejected"
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    HANDED_OVER = "handed_over"
    CERTIFICATE_READY = "certificate_ready"
    CERTIFICATE_REVOKED = "certificate_revoked"

    @property
    def subject(self) -> LazyString:
        return _TEXTS[self][0]

    @property
    def body(self) -> LazyString:
        return _TEXTS[self][1]


# TRANSLATORS: %(procedure)s is a procedure's name, %(department)s the department's, %(receipt)s
# the receipt number, %(reason)s what the clerk wrote, %(when)s a date and time.
_TEXTS: dict[MessageKind, tuple[LazyString, LazyString]] = {
    MessageKind.CORRECTION_ASKED: (
        _l("A correction is needed: %(procedure)s"),
        _l(
            "%(department)s asks you to correct your %(procedure)s (receipt number "
            "%(receipt)s). Reason: %(reason)s. Open the case from your dashboard, change what "
            "is asked and send it again."
        ),
    ),
    MessageKind.APPROVED: (
        _l("Approved: %(procedure)s"),
        _l("%(department)s approved your %(procedure)s (receipt number %(receipt)s)."),
    ),
    MessageKind.REJECTED: (
        _l("Not accepted: %(procedure)s"),
        _l(
            "%(department)s could not accept your %(procedure)s (receipt number %(receipt)s). "
            "Reason: %(reason)s"
        ),
    ),
    MessageKind.BOOKING_CONFIRMED: (
        _l("Visit booked: %(when)s"),
        _l(
            "Your visit to %(department)s for your %(procedure)s is booked for %(when)s. "
            "Quote receipt number %(receipt)s at the counter."
        ),
    ),
    MessageKind.BOOKING_CANCELLED: (
        _l("Visit cancelled: %(when)s"),
        _l(
            "Your visit to %(department)s on %(when)s for your %(procedure)s is cancelled. "
            "You can book another from your dashboard."
        ),
    ),
    MessageKind.HANDED_OVER: (
        _l("Sent on to %(municipality)s: %(procedure)s"),
        _l(
            "Your %(procedure)s (receipt number %(receipt)s) was approved and handed over to "
            "%(municipality)s, which now handles the next steps."
        ),
    ),
    MessageKind.CERTIFICATE_READY: (
        _l("Certificate ready: %(procedure)s"),
        _l(
            "The certificate for your %(procedure)s (receipt number %(receipt)s) is ready. "
            "Download it from the case's receipt page."
        ),
    ),
    MessageKind.CERTIFICATE_REVOKED: (
        _l("Certificate revoked: %(serial)s"),
        _l(
            "%(department)s revoked your certificate %(serial)s. Reason: %(reason)s. "
            "Anyone who checks it is now told it is revoked."
        ),
    ),
}
