"""Days are counted in Japan: after midnight there, it is the next day, whatever UTC says."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask

from portal.definitions.logic import evaluate
from portal.extensions import db
from portal.japan.clock import JAPAN, as_of, now_in_japan, today_in_japan, utcnow
from portal.journey import services
from tests.factories import CaseFactory

#: 00:30 on 2 December 2026 in Japan: still 1 December in UTC.
HALF_PAST_MIDNIGHT_IN_JAPAN = datetime(2026, 12, 2, 0, 30, tzinfo=JAPAN)


def test_half_past_midnight_in_japan_is_already_the_next_day() -> None:
    with time_machine.travel(HALF_PAST_MIDNIGHT_IN_JAPAN, tick=False):
        assert utcnow() == datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
        assert utcnow().tzinfo is UTC
        assert today_in_japan() == date(2026, 12, 2)
        assert now_in_japan().hour == 0
        assert evaluate({"today": []}, {}) == "2026-12-02"  # the rules' "today" too
    assert JAPAN.utcoffset(None) == timedelta(hours=9)


def test_the_receipt_number_carries_the_date_in_japan(app: Flask) -> None:
    """A case sent at 00:30 in Japan is quoted at the counter with that day's date."""
    with app.app_context():
        case = CaseFactory()
        db.session.flush()
        with time_machine.travel(HALF_PAST_MIDNIGHT_IN_JAPAN, tick=False):
            services.submit(case)
        db.session.commit()
        assert case.receipt_number.startswith("261202-")
        assert case.submitted_at == datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


def test_the_clock_is_the_only_place_that_reads_the_time_or_names_a_time_zone() -> None:
    portal = Path(__file__).resolve().parent.parent / "portal"
    readers = re.compile(r"datetime\.(now|utcnow)\(|date\.today\(|ZoneInfo\(|\btimezone\(")
    found = [
        f"{path.relative_to(portal)}:{number}"
        for path in sorted(portal.rglob("*.py"))
        if path.name != "clock.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if readers.search(line)
    ]
    assert found == [], "use portal.japan.clock"


def test_the_clock_can_be_set_to_a_moment_for_a_block() -> None:
    """``as_of`` (demo data filed in past weeks) moves every reader of the clock, and only
    inside the block."""
    with as_of(HALF_PAST_MIDNIGHT_IN_JAPAN):
        assert utcnow() == datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
        assert today_in_japan() == date(2026, 12, 2)
        assert evaluate({"today": []}, {}) == "2026-12-02"
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(ValueError), as_of(datetime(2026, 12, 2, 0, 30)):
        pass  # a naive moment says nothing about where it is
