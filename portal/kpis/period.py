"""The months a dashboard covers, counted in Japan: from the first day of one month to the
end of another, as UTC instants for the queries."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from portal.japan.clock import JAPAN

#: The longest period a dashboard shows: three fiscal years is plenty to compare.
MAX_MONTHS = 36
#: What the dashboard shows when no period is asked for (or a bad one): this month and the
#: eleven before it.
DEFAULT_MONTHS = 12

_MONTH = re.compile(r"(\d{4})[-/.](\d{1,2})")


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month`` (before, if negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> date | None:
    """``2026-04`` (also ``2026/4`` or full-width digits, as typed with a Japanese input
    method) as the first day of that month; None for anything else."""
    match = _MONTH.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def _start_of(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=JAPAN).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """Whole months, ``first`` to ``last`` (each the first day of its month), both included."""

    first: date
    last: date

    @classmethod
    def ending(cls, last: date, months: int) -> Period:
        month = last.replace(day=1)
        return cls(add_months(month, -(months - 1)), month)

    @property
    def starts_at(self) -> datetime:
        return _start_of(self.first)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return _start_of(add_months(self.last, 1))

    @property
    def months(self) -> list[date]:
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return [add_months(self.first, n) for n in range(count)]

    def as_args(self) -> dict[str, str]:
        return {"start": f"{self.first:%Y-%m}", "end": f"{self.last:%Y-%m}"}
