"""Department kinds: what definitions route to; a municipality maps each to its department."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class DepartmentKind(StrEnum):
    RESIDENT_REGISTRATION = "resident_registration"
    INSURANCE_PENSION = "insurance_pension"
    CHILD_SUPPORT = "child_support"
    CHILDCARE = "childcare"
    LONG_TERM_CARE = "long_term_care"
    EDUCATION = "education"
    MATERNAL_HEALTH = "maternal_health"
    ENVIRONMENT = "environment"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    DepartmentKind.RESIDENT_REGISTRATION: _l("Resident registration"),
    DepartmentKind.INSURANCE_PENSION: _l("Insurance and pension"),
    DepartmentKind.CHILD_SUPPORT: _l("Child support"),
    DepartmentKind.CHILDCARE: _l("Childcare"),
    DepartmentKind.LONG_TERM_CARE: _l("Long-term care"),
    DepartmentKind.EDUCATION: _l("Education"),
    DepartmentKind.MATERNAL_HEALTH: _l("Maternal health"),
    DepartmentKind.ENVIRONMENT: _l("Environment and sanitation"),
}
