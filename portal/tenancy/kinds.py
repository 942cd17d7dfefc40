"""Department kinds: what definitions route to; a municipality maps each to its department.

The kinds are data (``portal.tenancy.models.DepartmentKind``) that a portal admin adds to and
relabels. These are the kinds the portal is born with: the migration that made kinds data
seeded them, and the definitions checker falls back on them where no database is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class BuiltinKind:
    key: str
    labels: MappingProxyType[str, str]


def _kind(key: str, ja: str, en: str) -> BuiltinKind:
    return BuiltinKind(key, MappingProxyType({"ja": ja, "en": en}))


BUILTIN_KINDS: Final = (
    _kind("resident_registration", "住民登録", "Resident registration"),
    _kind("insurance_pension", "保険・年金", "Insurance and pension"),
    _kind("child_support", "子育て支援", "Child support"),
    _kind("childcare", "保育", "Childcare"),
    _kind("long_term_care", "介護保険", "Long-term care"),
    _kind("education", "教育", "Education"),
    _kind("maternal_health", "母子保健", "Maternal health"),
    _kind("environment", "生活衛生", "Environment and sanitation"),
)
BUILTIN_KEYS: Final = tuple(kind.key for kind in BUILTIN_KINDS)
#: What a kind's key may be: it is written in definitions and never changes once made.
KEY_PATTERN: Final = r"^[a-z][a-z0-9_]{1,39}$"
