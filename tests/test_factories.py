"""The factories build what the portal itself would: tests of the back office rely on it."""

from __future__ import annotations

from flask import Flask

from portal.accounts.models import Role
from portal.extensions import db
from portal.journey import services
from portal.journey.models import CaseStatus
from portal.tenancy.kinds import BUILTIN_KEYS
from tests.factories import AttachmentFactory, CaseFactory, MunicipalityFactory, RoleFactory


def test_a_filed_case_has_one_request_per_form_at_each_forms_department(app: Flask) -> None:
    with app.app_context():
        yokohama = MunicipalityFactory(name_en="Yokohama")
        case = CaseFactory(filed=True, municipality=yokohama)
        db.session.commit()
        snapshot = case.definitions
        assert case.status is CaseStatus.SUBMITTED and case.receipt_number
        assert [r.form_id for r in case.requests] == [e.form_id for e in snapshot.workflow.forms]
        for request in case.requests:
            assert request.municipality is yokohama
            assert request.department.kind == snapshot.form(request.form_id).department_kind
            assert request.form_version == snapshot.form(request.form_id).version


def test_a_draft_files_nothing_and_a_municipality_has_every_department(app: Flask) -> None:
    with app.app_context():
        draft = CaseFactory()
        municipality = MunicipalityFactory()
        db.session.commit()
        assert draft.is_draft and draft.requests == [] and draft.receipt_number is None
        assert {d.kind for d in municipality.departments} == set(BUILTIN_KEYS)
        assert municipality.is_served


def test_roles_and_attachments(app: Flask) -> None:
    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"])
        attachment = AttachmentFactory(case=case)
        clerk = RoleFactory(department=case.requests[0].department)
        admin = RoleFactory(admin=True)
        portal_admin = RoleFactory(portal_admin=True)
        db.session.commit()
        assert attachment.field_key == "filing.delegation_letter"  # the 転出届 asks for it
        assert services.attachment_path(attachment).read_bytes().startswith(b"%PDF-")
        assert (clerk.role, clerk.municipality) == (Role.CLERK, case.requests[0].municipality)
        assert (admin.role, admin.department) == (Role.ADMIN, None) and admin.municipality
        assert portal_admin.is_portal_admin
