"""Demo data for development: two municipalities served here, their departments, and staff
personas. Every other municipality of Japan is known too (``municipalities load``) but has no
departments: its procedures are done at its counter.

Yokohama works by ward: an address in 横浜市中区 is filed with the city's departments below,
and the resident is told the ward office's counter (横浜市中区役所), where the city's
divisions receive residents. A ward given departments of its own would take its residents'
requests instead (``tenancy.services.department_for``).

Idempotent: loading twice changes nothing the first load created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path

from flask import current_app

from portal.accounts import services as accounts
from portal.accounts.models import Account, Role
from portal.bookings import services as bookings
from portal.tenancy import services as tenancy
from portal.tenancy.models import Municipality


@dataclass(frozen=True)
class DemoMunicipality:
    code: str
    name_ja: str
    name_en: str
    departments: dict[str, tuple[str, str]]


MUNICIPALITIES = (
    DemoMunicipality(
        "131016",
        "千代田区",
        "Chiyoda City, Tokyo",
        {
            "resident_registration": ("区民課", "Residents Division"),
            "insurance_pension": ("保険年金課", "Insurance and Pension Division"),
            "child_support": ("子ども支援課", "Child Support Division"),
            "childcare": ("保育課", "Childcare Division"),
            "long_term_care": ("高齢介護課", "Elderly and Long-term Care Division"),
            "education": ("教育委員会 学務課", "Board of Education, School Affairs Division"),
            "maternal_health": ("千代田保健所 健康推進課", "Health Promotion Division"),
            "environment": ("生活衛生課", "Environmental Sanitation Division"),
        },
    ),
    DemoMunicipality(
        "141003",
        "横浜市",
        "Yokohama City, Kanagawa",
        {
            "resident_registration": ("戸籍課 登録担当", "Family Register and Residents Division"),
            "insurance_pension": ("保険年金課", "Insurance and Pension Division"),
            "child_support": ("こども家庭支援課", "Children and Families Division"),
            "childcare": ("保育・教育運営課", "Childcare and Education Division"),
            "long_term_care": ("介護保険課", "Long-term Care Insurance Division"),
            "education": ("教育委員会 学校教育事務所", "Board of Education, School Office"),
            "maternal_health": ("こども家庭センター 母子保健担当", "Maternal and Child Health"),
            "environment": ("生活衛生課", "Environmental Sanitation Division"),
        },
    ),
)

#: Staff personas of the development ID provider and the roles the demo grants them.
CLERKS = {
    "tanaka-jiro": ("131016", ["resident_registration", "child_support"]),
    "takahashi-misaki": (
        "141003",
        ["resident_registration", "insurance_pension", "child_support"],
    ),
}
#: One supervisor per demo municipality, of its resident-registration department, and of
#: child support, whose child allowance forms need a second approval (``approvals: 2``): the
#: second pair of eyes after the demo clerk's first.
SUPERVISORS = {
    "nakamura-yoko": ("131016", ["resident_registration", "child_support"]),
    "kobayashi-makoto": ("141003", ["resident_registration", "child_support"]),
}
MUNICIPAL_ADMINS = {"ito-ken": "131016"}
PORTAL_ADMINS = ("watanabe-yui",)


#: Every demo counter: weekdays 8:30 to 17:15, 30-minute slots, three residents at a time.
COUNTER_HOURS = {weekday: [(time(8, 30), time(17, 15))] for weekday in range(5)}
COUNTER_SLOT_MINUTES = 30
COUNTER_CAPACITY = 3


def load_municipalities() -> list[Municipality]:
    loaded = []
    for demo in MUNICIPALITIES:
        # From the official list, with its wards for a designated city.
        municipality = tenancy.ensure_municipality(demo.code, demo.name_ja, demo.name_en)
        for kind, (name_ja, name_en) in demo.departments.items():
            department = tenancy.ensure_department(municipality, kind, name_ja, name_en)
            if bookings.counter_of(department) is None:
                bookings.set_counter(
                    department,
                    hours=COUNTER_HOURS,
                    slot_minutes=COUNTER_SLOT_MINUTES,
                    capacity=COUNTER_CAPACITY,
                )
        loaded.append(municipality)
    return loaded


def grant_demo_staff(issuer: str, key_dir: Path, client_id: str) -> None:
    """Grant the demo staff personas their roles, before their first sign-in.

    Their subjects are pairwise, so they are computed with the development provider's salt.
    """

    def account(persona: str) -> Account:
        return staff_account(persona, issuer, key_dir, client_id)

    by_code = {m.code: m for m in load_municipalities()}
    for persona, (code, kinds) in CLERKS.items():
        departments = [d for d in by_code[code].departments if d.kind in kinds]
        accounts.grant_clerk(account(persona), departments)
    for persona, (code, kinds) in SUPERVISORS.items():
        departments = [d for d in by_code[code].departments if d.kind in kinds]
        accounts.grant_clerk(account(persona), departments, as_role=Role.SUPERVISOR)
    for persona, code in MUNICIPAL_ADMINS.items():
        accounts.grant_admin(account(persona), by_code[code])
    for persona in PORTAL_ADMINS:
        accounts.grant_admin(account(persona), None)


def staff_account(persona: str, issuer: str, key_dir: Path, client_id: str) -> Account:
    """The account a staff persona signs in to (created before the first sign-in)."""
    from portal.devidp.subjects import subject_for

    return accounts.account_for(issuer, subject_for(key_dir, persona, client_id))


def _provider() -> tuple[str, Path, str] | None:
    """The development provider's issuer, key folder and our client id; None when another
    provider is in use (the demo staff cannot sign in then)."""
    config = current_app.config
    if not config["DEVELOPMENT_PROVIDER"]:
        return None
    key_dir = Path(config.get("DEVIDP_KEY_DIR") or Path(current_app.instance_path) / "devidp")
    return config["DEVIDP_ISSUER"], key_dir, config["OIDC_CLIENT_ID"]


def load() -> None:
    """Municipalities always; staff grants only while the development provider is in use."""
    load_municipalities()
    provider = _provider()
    if provider is not None:
        grant_demo_staff(*provider)


class NoDemoProvider(RuntimeError):
    """The demo staff sign in at the development provider; without it there is nobody to
    work the queues."""


def fill_queues(cases: int = 120) -> int:
    """Fill the demo departments' queues: about forty fictitious residents file ``cases``
    cases over the last six weeks and the demo staff work a share of them (see
    :mod:`portal.demo_queues`). Returns the number of requests filed; 0 when the demo
    residents have filed already, so running it again adds nothing."""
    from portal import demo_queues

    provider = _provider()
    if provider is None:
        raise NoDemoProvider(
            "the demo queues are worked by the development provider's staff personas: "
            "use the development provider (PORTAL_OIDC_DISCOVERY_URL unset)"
        )
    load()
    staff = demo_queues.Staff(clerks={}, supervisors={})
    for personas, by_code in ((CLERKS, staff.clerks), (SUPERVISORS, staff.supervisors)):
        for persona, (code, _kinds) in personas.items():
            by_code.setdefault(code, []).append(staff_account(persona, *provider))
    return demo_queues.fill(staff, cases)
