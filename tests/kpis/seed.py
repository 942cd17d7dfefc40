"""A data set with known answers: moving cases of municipality A started and filed in
October 2026 (Japan time), decided after known numbers of days, with corrections; drafts
fresh and abandoned; cases elsewhere and at other times that A's figures must leave out.

Read on 2 December 2026, noon in Japan (``NOW``). What A's dashboard for October must say is
written beside each row; the whole portal's sums add B's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from portal.casework.lifecycle import RequestStatus
from portal.casework.models import Correction
from portal.extensions import db
from portal.japan.clock import JAPAN, as_of
from portal.journey.models import Case
from portal.tenancy.models import Municipality
from tests.factories import CaseFactory, MunicipalityFactory, RequestFactory

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=JAPAN)
TODAY = date(2026, 12, 2)
#: Days from submission to decision of A's four decided moving-out requests.
DECISION_DAYS = (1, 2, 4, 10)
#: percentile_cont: position 1 + p(n - 1) between the sorted values.
MEDIAN_DAYS = 3.0  # position 2.5: halfway between 2 and 4
P90_DAYS = 8.2  # position 3.7: 4 + 0.7 * (10 - 4)


def at(day: int, month: int = 10, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=JAPAN)


@dataclass
class Seeded:
    a_id: int
    b_id: int
    a_code: str


def _address(code: str) -> dict[str, object]:
    return {"postal_code": "1000001", "municipality_code": code, "street": "1-1"}


def _filed(municipality: Municipality, when: datetime, **request: object) -> Case:
    with as_of(when):
        case = CaseFactory(filed=True, municipality=municipality, forms=[], submitted_at=when)
        RequestFactory(case=case, form_id="mic.tenshutsu", municipality=municipality, **request)
    return case


def seed() -> Seeded:
    """Inside an app context with the shipped definitions loaded; flushes, the caller commits."""
    a, b = MunicipalityFactory(), MunicipalityFactory()
    # A, October: five moving cases filed; four decided, one withdrawn.
    decided = []
    for n, days in enumerate(DECISION_DAYS):
        submitted = at(3 + n)
        case = _filed(
            a,
            submitted,
            status=RequestStatus.APPROVED if n else RequestStatus.REJECTED,
            decided_at=submitted + timedelta(days=days),
        )
        decided.append(case.requests[0])
    withdrawn = _filed(a, at(20), status=RequestStatus.WITHDRAWN, decided_at=at(21))
    # Three corrections asked on A's October requests (two on one): 60 per 100 requests.
    for filed, day in ((decided[0], 4), (decided[0], 5), (withdrawn.requests[0], 20)):
        db.session.add(
            Correction(request=filed, reason="写しが不鮮明です", asked_at=at(day, hour=15))
        )
    # A, October drafts: one untouched since October (abandoned), one changed last week.
    for created, touched in ((at(8), at(9)), (at(10), at(25, month=11))):
        with as_of(created):
            draft = CaseFactory(answers={"principal.address": _address(a.code)})
        db.session.flush()
        draft.updated_at = touched  # as the resident's last save left it
    # B, October: one filed case (open, its deadline long gone) and one fresh draft.
    _filed(b, at(12))
    with as_of(at(14)):
        draft_b = CaseFactory(answers={"principal.address": _address(b.code)})
    db.session.flush()
    draft_b.updated_at = at(30, month=11)
    # A, outside the period: filed in September and in November (A's open work today).
    _filed(a, at(28, month=9), status=RequestStatus.APPROVED, decided_at=at(29, month=9))
    _filed(a, at(2, month=11), deadline=date(2026, 11, 16))  # open, overdue
    _filed(a, at(3, month=11), status=RequestStatus.IN_REVIEW, deadline=date(2026, 12, 20))
    _filed(  # a correction is out: its clock is paused, never overdue
        a,
        at(4, month=11),
        status=RequestStatus.WAITING_FOR_RESIDENT,
        deadline=date(2026, 11, 18),
        paused_since=date(2026, 11, 10),
    )
    db.session.flush()
    return Seeded(a_id=a.id, b_id=b.id, a_code=a.code)
