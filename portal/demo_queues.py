"""A realistic queue for the demo: some forty fictitious residents file life events over the
last six weeks, and the demo clerks work a share of what arrives.

Nothing here writes a request directly. Each case is filled page by page through the
journey's own page forms (so every answer passed its form's validation), sent by
``journey.services.submit``, and worked by ``casework.services.act`` as the demo clerks and
supervisors, with each hand-off between the two demo municipalities delivered at once. The
clock is set to each step's moment (``clock.as_of``), in order, so receipt numbers,
deadlines, paused days and the audit chain are what filing and working then gave.

Deterministic: one seeded ``random.Random`` decides everything.
"""

from __future__ import annotations

import heapq
import io
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict

from portal.accounts import services as accounts
from portal.accounts.models import Account
from portal.casework import handoff
from portal.casework import services as casework
from portal.casework.lifecycle import Action, RequestStatus
from portal.db import db
from portal.definitions.model import Field, Item
from portal.i18n import force_locale
from portal.japan.clock import JAPAN, as_of, today_in_japan, utcnow
from portal.japan.postal import lookup
from portal.journey import corrections, flow
from portal.journey import services as journey
from portal.journey.fields.names import field_name
from portal.journey.fields.page import page_form
from portal.journey.models import Case, ProcedureRequest

#: The demo residents' provider: fictitious, so none of them can sign in (the personas can).
RESIDENT_ISSUER = "https://residents.demo.madoguchi.invalid"
SEED = 7
#: How far back the first case was filed.
WEEKS = 6


@cache
def scanned_document() -> bytes:
    """A blank A4 PDF: what a resident's scanned document stands in for (uploads are
    checked by content, so it must really open)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- the residents ---------------------------------------------------------------------------

FAMILY_NAMES = (
    ("佐々木", "ササキ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"),
    ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"),
    ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"), ("山崎", "ヤマザキ"),
    ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("前田", "マエダ"),
)  # fmt: skip
GIVEN_NAMES = (
    ("翔太", "ショウタ", "male"), ("大輔", "ダイスケ", "male"), ("拓也", "タクヤ", "male"),
    ("健太", "ケンタ", "male"), ("直樹", "ナオキ", "male"), ("浩二", "コウジ", "male"),
    ("誠", "マコト", "male"), ("隆", "タカシ", "male"), ("蓮", "レン", "male"),
    ("悠真", "ユウマ", "male"), ("陽子", "ヨウコ", "female"), ("恵美", "エミ", "female"),
    ("由美子", "ユミコ", "female"), ("真由美", "マユミ", "female"), ("愛", "アイ", "female"),
    ("彩", "アヤ", "female"), ("千尋", "チヒロ", "female"), ("美穂", "ミホ", "female"),
    ("陽菜", "ヒナ", "female"), ("葵", "アオイ", "female"),
)  # fmt: skip
CHILD_NAMES = (
    ("湊", "ミナト", "male"), ("陽翔", "ハルト", "male"), ("樹", "イツキ", "male"),
    ("結菜", "ユイナ", "female"), ("凛", "リン", "female"), ("紬", "ツムギ", "female"),
)  # fmt: skip
#: Postal codes and blocks in the demo municipalities (the code decides the municipality).
ADDRESSES = {
    "131016": (
        ("102-0082", "一番町8番地"),
        ("102-0074", "九段南2丁目1番"),
        ("101-0051", "神田神保町1丁目6番"),
        ("102-0093", "平河町2丁目4番"),
        ("101-0021", "外神田6丁目2番"),
        ("102-0083", "麹町3丁目5番"),
    ),
    "141003": (
        ("231-0023", "山下町85番地"),
        ("220-0012", "みなとみらい3丁目7番"),
        ("222-0033", "新横浜2丁目5番"),
        ("221-0835", "鶴屋町2丁目23番"),
        ("232-0024", "浦舟町4丁目2番"),
        ("236-0021", "泥亀1丁目14番"),
    ),
}
BUILDINGS = ("", "", "コーポ桜201", "メゾン青葉305", "グランハイツ1102", "ハイム若葉102")

CORRECTION_REASONS = (
    "転入前の住所の番地が住民票の記載と異なります。ご確認のうえ再度入力してください。",
    "ご本人の生年月日をご確認ください。",
    "添付書類の画像が不鮮明で読み取れません。撮り直してお送りください。",
    "世帯員の続柄の記載をご確認ください。",
)
REJECTION_REASONS = (
    "同じ内容の届出が窓口で受理済みのため、重複として取り下げ扱いにしました。",
    "届出人の資格を確認できませんでした。窓口でご相談ください。",
    "添付書類の有効期限が切れています。",
)


@dataclass(frozen=True)
class DemoResident:
    number: int
    family: tuple[str, str]
    given: tuple[str, str, str]
    birthdate: date
    municipality_code: str
    postal_code: str
    street: str

    @property
    def subject(self) -> str:
        return f"demo-resident-{self.number:03d}"

    def claims(self) -> dict[str, Any]:
        """What the card would certify, as the development provider's personas disclose it."""
        found = lookup(self.postal_code)
        assert found is not None, self.postal_code
        return {
            "name": f"{self.family[0]} {self.given[0]}",
            "family_name": self.family[0],
            "given_name": self.given[0],
            "name#ja-Kana-JP": f"{self.family[1]} {self.given[1]}",
            "family_name#ja-Kana-JP": self.family[1],
            "given_name#ja-Kana-JP": self.given[1],
            "birthdate": self.birthdate.isoformat(),
            "gender": self.given[2],
            "address": {
                "street_address": f"{found.town}{self.street}",
                "locality": found.city,
                "region": found.prefecture,
                "postal_code": self.postal_code,
                "country": "JP",
            },
        }


def residents(rng: random.Random, count: int = 40) -> list[DemoResident]:
    codes = sorted(ADDRESSES)
    people = []
    for number in range(count):
        code = codes[number % 2]
        postal_code, street = rng.choice(ADDRESSES[code])
        people.append(
            DemoResident(
                number=number + 1,
                family=FAMILY_NAMES[number % len(FAMILY_NAMES)],
                given=GIVEN_NAMES[(number * 7) % len(GIVEN_NAMES)],
                birthdate=date(rng.randint(1948, 2000), rng.randint(1, 12), rng.randint(1, 28)),
                municipality_code=code,
                postal_code=postal_code,
                street=street,
            )
        )
    return people


# --- the answers a resident types ------------------------------------------------------------


class AnswerRefused(Exception):
    """A demo answer did not pass its page's validation: the demo data is wrong, not the
    portal; the message names the page and the errors."""


def _address(rng: random.Random, code: str, avoid: str = "") -> dict[str, str]:
    choices = [a for a in ADDRESSES[code] if a[0] != avoid] or list(ADDRESSES[code])
    postal_code, street = rng.choice(choices)
    return {"postal_code": postal_code, "street": street, "building": rng.choice(BUILDINGS)}


def _child(rng: random.Random, family: tuple[str, str], today: date, max_age: int) -> dict:
    name, kana, sex = rng.choice(CHILD_NAMES)
    born = today - timedelta(days=rng.randint(200, 365 * max_age))
    return {
        "name": f"{family[0]} {name}",
        "name_kana": f"{family[1]} {kana}",
        "birthdate": born.isoformat(),
        "sex": sex,
        "relationship": "子",
        "lives_with": True,
    }


def scenario(rng: random.Random, person: DemoResident, today: date) -> tuple[str, dict]:
    """A life event and the answers that make it: the rest of each page is typical."""
    other = "141003" if person.municipality_code == "131016" else "131016"
    roll = rng.random()
    if roll < 0.55:
        between = rng.random() < 0.6
        code = other if between else person.municipality_code
        members = [
            _child(rng, person.family, today, 12) for _ in range(rng.choice((0, 0, 0, 1, 2)))
        ]
        circumstances = ["kokuho"] if rng.random() < 0.35 else []
        return "moving", {
            "filing.proxy": False,
            "move.scope": "between" if between else "within",
            "move.new_address": _address(rng, code, avoid=person.postal_code),
            "move.date": (today - timedelta(days=rng.randint(0, 10))).isoformat(),
            "move.members": members,
            "move.circumstances": circumstances,
        }
    if roll < 0.72:
        born = today - timedelta(days=rng.randint(1, 12))
        name, kana, sex = rng.choice(CHILD_NAMES)
        return "birth", {
            "filing.relationship": rng.choice(("father", "mother")),
            "birth.date": born.isoformat(),
            "birth.weight": rng.randint(2500, 3800),
            "insurance.kokuho": rng.random() < 0.3,
            "child_allowance.receiving": False,
            "newborn.family_name": person.family[0],
            "newborn.family_name_kana": person.family[1],
            "newborn.given_name": name,
            "newborn.given_name_kana": kana,
            "newborn.sex": sex,
            "birth.place_type": "hospital",
            "birth.facility_name": "聖ルカ記念病院",
        }
    if roll < 0.85:
        died = today - timedelta(days=rng.randint(1, 6))
        return "death", {
            "filing.relationship": rng.choice(("child", "spouse")),
            "deceased.address": _address(rng, person.municipality_code),
            "death.date": died.isoformat(),
            "death.learned_date": died.isoformat(),
            "deceased.birthdate": date(rng.randint(1930, 1950), rng.randint(1, 12), 10).isoformat(),
            "deceased.family_name": person.family[0],
            "deceased.family_name_kana": person.family[1],
            "deceased.given_name": rng.choice(("ハル", "正男", "キヨ", "茂")),
            "deceased.given_name_kana": rng.choice(("ハル", "マサオ", "キヨ", "シゲル")),
            "deceased.kokuho": True,
            "deceased.was_householder": False,
            "death.place_type": "hospital",
            "death.facility_name": "東都中央病院",
            "death.time": f"{rng.randint(0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}",
        }
    return "childcare", {
        "filing.proxy": False,
        "childcare.needs": ["daycare"],
        "children": [_child(rng, person.family, today, 5)],
        "household.single_parent": False,
        "child_allowance.receiving": True,
    }


def typical(item: Item, key: str, person: DemoResident, today: date) -> Any:
    """A plausible answer for what a scenario leaves open, by the item's type and key."""
    kind, validation = item.type, item.validation
    if kind == "date":
        if validation.get("max_days_before_today") == 0:
            return (today + timedelta(days=3)).isoformat()
        return (today - timedelta(days=3)).isoformat()
    if kind == "address":
        return {"postal_code": person.postal_code, "street": person.street, "building": ""}
    if kind == "number":
        low = validation.get("min", 0)
        return max(low, 1) if validation.get("max", 1) >= 1 else low
    if kind in ("select", "radio"):
        return item.options[0].value
    if kind == "checkbox":
        return [item.options[0].value]
    if kind == "yes_no":
        return False
    if kind == "digits":
        return "1234567"[: validation.get("min_length", 7)]
    if kind == "name":
        return person.family[0] if "family" in key else f"{person.family[0]} {person.given[0]}"
    if kind == "kana":
        return person.family[1] if "family" in key else f"{person.family[1]} {person.given[1]}"
    if kind == "phone":
        return f"090-{1000 + person.number * 37 % 9000:04d}-{5000 + person.number:04d}"
    if kind == "time":
        return "10:30"
    if kind == "group":
        return []
    if key.endswith("bank_name"):
        return "みずほ銀行"
    if key.endswith("branch_name"):
        return "丸の内支店"
    if key.endswith("workplace"):
        return "株式会社みなと商事"
    return "特になし"


def _encode(name: str, item: Item, value: Any) -> list[tuple[str, str]]:
    """How a browser posts an answer of this type (the page form reads it back)."""
    kind = item.type
    if kind == "date":
        day = date.fromisoformat(value)
        return [(f"{name}-year", str(day.year)), (f"{name}-month", str(day.month)),
                (f"{name}-day", str(day.day))]  # fmt: skip
    if kind == "address":
        return [
            (f"{name}-{part}", str(v)) for part, v in value.items() if part != "municipality_code"
        ]
    if kind == "yes_no":
        return [(name, "yes" if value else "no")]
    if kind == "checkbox":
        return [(name, str(v)) for v in value]
    if kind == "group":
        posted: list[tuple[str, str]] = []
        for index, entry in enumerate(value):
            for sub in item.fields:
                if sub.key in entry:
                    posted.extend(_encode(f"{name}-{index}-{sub.key}", sub.item, entry[sub.key]))
        return posted
    return [(name, str(value))]


def _complete(item: Item, entry: Mapping[str, Any], person: DemoResident, today: date) -> dict:
    return {
        sub.key: entry[sub.key] if sub.key in entry else typical(sub.item, sub.key, person, today)
        for sub in item.fields
    }


def fill_page(case: Case, page: flow.Page, wanted: Mapping[str, Any], person: DemoResident) -> None:
    """Post one page as a resident would, through its own form: refused answers raise."""
    today = today_in_japan()
    posted: list[tuple[str, str]] = []
    uploads: list[tuple[str, FileStorage]] = []
    locked = set(case.locked_keys)
    for definition in page.fields:
        key, item = definition.key, definition.item
        if key in locked:
            continue
        name = field_name(key)
        if item.type == "file":
            if definition.required:
                uploads.append(
                    (name, FileStorage(io.BytesIO(scanned_document()), f"{key}.pdf", name))
                )
            continue
        value = wanted[key] if key in wanted else case.answers.get(key)
        if value is None:
            value = typical(item, key, person, today)
        if item.type == "group":
            value = [_complete(item, entry, person, today) for entry in value]
        posted.extend(_encode(name, item, value))
    formdata = MultiDict(posted + uploads)
    form = page_form(
        page.fields,
        case.answers,
        formdata=formdata,
        locked=locked,
        files={a.field_key: a.filename for a in case.attachments},
        meta={"csrf": False},
    )
    if not form.validate():
        raise AnswerRefused(f"{case.workflow_key} {page.slug}: {form.errors}")
    for key, upload in form.uploads().items():
        journey.attach(case, key, upload)
    journey.save_page(case, page, form.answers())


def file_case(account: Account, person: DemoResident, workflow: str, wanted: dict) -> Case:
    """Start, fill every page and send, as the resident would on the portal."""
    case = journey.start_case(account, workflow)
    for _step in range(60):
        pages = flow.pages(case.definitions, case.answers, case.declined_forms)
        page = flow.first_unfinished(pages, case.completed_pages)
        if page.kind == flow.CHECK:
            break
        if page.kind == flow.PROCEDURES:
            journey.choose_procedures(case, [])
        else:
            fill_page(case, page, wanted, person)
    else:  # pragma: no cover - a definition whose pages never end
        raise AnswerRefused(f"{workflow}: the pages did not end")
    return journey.submit(case).case


# --- the timeline ----------------------------------------------------------------------------


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    run: Callable[[], None] = field(compare=False)


@dataclass
class Staff:
    """The demo clerks and supervisors, by municipality code: who works which queue."""

    clerks: dict[str, list[Account]]
    supervisors: dict[str, list[Account]]


class Timeline:
    """Steps run in time order, each with the clock set to its moment; a step may plan
    later ones (a filed request's first claim)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._steps: list[_Step] = []
        self._order = itertools.count()

    def plan(self, at: datetime, run: Callable[[], None]) -> None:
        if at < self.now:
            heapq.heappush(self._steps, _Step(at, next(self._order), run))

    def run(self) -> None:
        while self._steps:
            step = heapq.heappop(self._steps)
            with as_of(step.at):
                step.run()


def _office_hours(rng: random.Random, day: date) -> datetime:
    """A moment on a working day in Japan, when people file and clerks work."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    moment = time(rng.randint(8, 17), rng.randint(0, 59))
    return datetime.combine(day, moment, JAPAN)


def _later(rng: random.Random, after: datetime, days: tuple[int, int]) -> datetime:
    day = after.astimezone(JAPAN).date() + timedelta(days=rng.randint(*days))
    moment = _office_hours(rng, day)
    return moment if moment > after else after + timedelta(minutes=rng.randint(5, 90))


class Desk:
    """What the demo staff do with a request once it is in their queue. Each request's
    fate draws from its own random generator, so the steps that fall after now (and are
    left out) change nothing for the others."""

    def __init__(self, timeline: Timeline, staff: Staff) -> None:
        self.timeline = timeline
        self.staff = staff

    def arrived(self, request: ProcedureRequest, rng: random.Random) -> None:
        """Plan the request's fate: some stay new, the others are claimed and go on."""
        clerks = self._clerks_for(request)
        if not clerks or request.status is not RequestStatus.SUBMITTED:
            return
        if rng.random() < self._still_open_share():
            return  # still new
        clerk = rng.choice(clerks)
        at = _later(rng, utcnow(), (0, 4))
        self.timeline.plan(at, lambda: self._claim(rng, request.id, clerk))

    def _still_open_share(self) -> float:
        """Clerks work the oldest first: what came in this fortnight is more often left
        open than what came before (some of which is overdue all the same)."""
        age = self.timeline.now - utcnow()
        return 0.4 if age < timedelta(days=14) else 0.1

    def _clerks_for(self, request: ProcedureRequest) -> list[Account]:
        department = request.department
        if department is None:
            return []
        return [
            account
            for account in self.staff.clerks.get(request.municipality.code, [])
            if any(role.department_id == department.id for role in account.roles)
        ]

    def _load(self, request_id: int) -> ProcedureRequest:
        return db.session.get(ProcedureRequest, request_id)  # type: ignore[return-value]

    def _next(
        self, rng: random.Random, run: Callable[[], None], days: tuple[int, int] = (0, 5)
    ) -> None:
        self.timeline.plan(_later(rng, utcnow(), days), run)

    def _claim(self, rng: random.Random, request_id: int, clerk: Account) -> None:
        request = self._load(request_id)
        casework.act(request, Action.CLAIM, clerk)
        fate = rng.random()
        if fate < self._still_open_share():
            return  # in review
        if fate < 0.45:
            self._next(rng, lambda: self._ask(rng, request_id, clerk))
        elif fate < 0.55:
            self._next(rng, lambda: self._reject(rng, request_id, clerk))
        else:
            self._next(rng, lambda: self._approve(rng, request_id, clerk))

    def _ask(self, rng: random.Random, request_id: int, clerk: Account) -> None:
        request = self._load(request_id)
        form = request.form_definition
        answerable = [f for s in form.sections for f in s.fields if f.key in request.answers]
        if not answerable:
            return
        asked = rng.choice(answerable)
        reason = rng.choice(CORRECTION_REASONS)
        casework.act(request, Action.ASK_CORRECTION, clerk, reason=reason, fields=[asked.key])
        if rng.random() < 0.5:
            self._next(rng, lambda: self._answer(rng, request_id, clerk, asked), (1, 6))

    def _answer(self, rng: random.Random, request_id: int, clerk: Account, asked: Field) -> None:
        """The resident confirms the answer asked about, as the correction page sends it."""
        request = self._load(request_id)
        resident = request.case.account
        corrections.send(request, resident, {asked.key: request.answers[asked.key]})
        if rng.random() < 0.6:
            self._next(rng, lambda: self._approve(rng, request_id, clerk))

    def _reject(self, rng: random.Random, request_id: int, clerk: Account) -> None:
        request = self._load(request_id)
        with force_locale(request.case.language):
            reason = rng.choice(REJECTION_REASONS)
            casework.act(request, Action.REJECT, clerk, reason=reason)

    def _approve(self, rng: random.Random, request_id: int, clerk: Account) -> None:
        request = self._load(request_id)
        with force_locale(request.case.language):
            casework.act(request, Action.APPROVE, clerk)
        if request.status is RequestStatus.AWAITING_SECOND_APPROVAL:
            second = self.staff.supervisors.get(request.municipality.code, [])
            if second and rng.random() < 0.5:
                self._next(rng, lambda: self._second(rng, request_id, second[0]))
        self._deliver(rng, request)

    def _second(self, rng: random.Random, request_id: int, supervisor: Account) -> None:
        request = self._load(request_id)
        with force_locale(request.case.language):
            casework.act(request, Action.APPROVE, supervisor)
        self._deliver(rng, request)

    def _deliver(self, rng: random.Random, request: ProcedureRequest) -> None:
        """A moving-out approved hands the case over: delivered at once, as the job would,
        and the moving-in requests it readied arrive in the new municipality's queues."""
        if request.status is not RequestStatus.APPROVED or not handoff.sends_hand_off(request):
            return
        waiting = handoff.waiting_for(request)
        for hand_off_id in _undelivered(request):
            handoff.deliver(hand_off_id)
        for other in waiting:
            self.arrived(other, random.Random(rng.random()))


def _undelivered(request: ProcedureRequest) -> list[int]:
    from portal.casework.models import HandOff

    query = select(HandOff.id).where(
        HandOff.from_request_id == request.id, HandOff.delivered_at.is_(None)
    )
    return list(db.session.scalars(query))


# --- the whole fill --------------------------------------------------------------------------


def demo_cases_filed() -> int:
    """How many cases the demo residents have sent: the marker that the queues are there."""
    query = (
        select(func.count(Case.id))
        .join(Account, Case.account_id == Account.id)
        .where(Account.issuer == RESIDENT_ISSUER, Case.submitted_at.is_not(None))
    )
    return int(db.session.scalar(query) or 0)


def fill(staff: Staff, cases: int = 120, seed: int = SEED) -> int:
    """File ``cases`` cases over the last six weeks and work them; returns how many requests
    were filed. Does nothing (returns 0) when the demo residents have filed already."""
    if demo_cases_filed():
        return 0
    rng = random.Random(seed)
    now = utcnow()
    people = residents(rng)
    accounts_by_subject: dict[str, Account] = {}
    timeline = Timeline(now)
    desk = Desk(timeline, staff)
    filed: list[int] = []
    start = now.astimezone(JAPAN).date() - timedelta(weeks=WEEKS)
    for _number in range(cases):
        person = rng.choice(people)
        at = _office_hours(rng, start + timedelta(days=rng.randint(0, WEEKS * 7 - 1)))
        timeline.plan(at, _filing(rng, person, accounts_by_subject, desk, filed))
    timeline.run()
    return sum(filed)


def _filing(
    rng: random.Random,
    person: DemoResident,
    known: dict[str, Account],
    desk: Desk,
    filed: list[int],
) -> Callable[[], None]:
    seed = rng.random()

    def run() -> None:
        local = random.Random(seed)
        account = known.get(person.subject)
        if account is None:
            account = accounts.record_sign_in(RESIDENT_ISSUER, person.subject, person.claims())
            known[person.subject] = account
        today = today_in_japan()
        workflow, wanted = scenario(local, person, today)
        if journey.draft_of(account, workflow) is not None:
            return  # one draft of an event at a time: this resident is busy with it
        case = file_case(account, person, workflow, wanted)
        filed.append(len(case.requests))
        for request in case.requests:
            desk.arrived(request, random.Random(local.random()))

    return run
