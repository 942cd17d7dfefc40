"""A case seen through its frozen definitions, for the journey's pages: which pages and
procedures, where each goes, what to show on the check page, and the links between pages."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from portal.definitions.model import Form
from portal.journey import flow, services
from portal.journey.fields.summary import summarize
from portal.journey.models import Case


class Journey:
    """One case seen through its frozen definitions: pages, procedures, summary."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.snapshot = case.definitions
        shape = flow.shape(self.snapshot, case.answers, case.declined_forms, case.follow_up_form)
        self.procedures = shape.procedures
        self.pages = shape.pages

    @property
    def workflow(self):  # noqa: ANN201 - model.Workflow
        return self.snapshot.workflow

    def page(self, slug: str) -> flow.Page | None:
        return next((p for p in self.pages if p.slug == slug), None)

    def index(self, page: flow.Page) -> int:
        return self.pages.index(page)

    def url(self, page: flow.Page, **params: str) -> str:
        return url_for("journey.page", case_id=self.case.id, slug=page.slug, **params)

    def after(self, page: flow.Page | None) -> str:
        """The next page, or back to the check page when the resident came to change."""
        if request.args.get("return_to") == "check":
            return self.url(self.pages[-1])
        # Recompute: this page's answers may have changed which pages follow.
        case = self.case
        pages = flow.shape(
            self.snapshot, case.answers, case.declined_forms, case.follow_up_form
        ).pages
        slugs = [p.slug for p in pages]
        position = slugs.index(page.slug) if page and page.slug in slugs else -1
        return url_for("journey.page", case_id=self.case.id, slug=slugs[position + 1])

    def back(self, page: flow.Page) -> str | None:
        position = self.index(page)
        return self.url(self.pages[position - 1]) if position > 0 else None

    def rows(self) -> list[dict[str, Any]]:
        """The procedures that apply, each with its route (office and department, or the
        counter of a municipality not served here), deadline and counter visit."""
        routes: dict[str, services.Route | None] = {}
        rows = []
        for procedure in self.procedures:
            key = f"{procedure.municipality_code}:{procedure.form.department_kind}"
            if key not in routes:
                routes[key] = services.route_of(procedure, load_missing=False)
            route = routes[key]
            bring = self.bring(procedure.form) if route is None or not route.department else []
            rows.append({"procedure": procedure, "route": route, "bring": bring})
        return rows

    def bring(self, form: Form) -> list[str]:
        """What to take to the counter for a procedure filed there: proof of identity, the
        documents its form asks for these answers, and the receipt number."""
        answers = self.case.answers
        documents = [
            str(field.item.label) for field in form.attachments if flow.visible(field, answers)
        ]
        return [
            str(_("Your My Number card, or another photo identity document")),
            *documents,
            str(_("Your receipt number from this portal")),
        ]

    def summary(self) -> list[dict[str, Any]]:
        """Check-your-answers, grouped: the guidance answers, then each form's own."""
        answers = self.case.answers
        files = {a.field_key: a for a in self.case.attachments}
        groups: list[dict[str, Any]] = []
        for page in self.pages:
            if not page.fields:
                continue
            title = str(page.form.title) if page.form else None
            if not groups or groups[-1]["title"] != title:
                groups.append({"title": title, "form": page.form, "rows": []})
            for field in page.fields:
                if field.item.type == "file":
                    value = files[field.key].filename if field.key in files else ""
                else:
                    value = summarize(field.item, answers.get(field.key))
                groups[-1]["rows"].append(
                    {
                        "label": str(field.item.summary_label or field.item.label),
                        "value": value,
                        "change": None
                        if field.key in self.case.locked_keys
                        else self.url(page, return_to="check"),
                    }
                )
        return groups

    def follow_ups(self) -> list[dict[str, Any]]:
        """The procedures to file after a later event, each with the case filing it, if begun."""
        begun = {c.follow_up_form: c for c in self.case.follow_ups}
        return [{"procedure": p, "case": begun.get(p.form_id)} for p in self.procedures if p.later]

    @property
    def title(self) -> str:
        """The life event, and for a follow-up the procedure it files."""
        title = str(self.workflow.title)
        if self.case.follow_up_form:
            title += " — " + str(self.snapshot.form(self.case.follow_up_form).title)
        return title

    def missing(self) -> list[tuple[flow.Page, Any]]:
        keys = {a.field_key for a in self.case.attachments}
        return flow.missing_answers(self.pages, self.case.answers, keys)

    def render(self, template: str, page: flow.Page, **context: Any) -> str:
        return render_template(
            template,
            case=self.case,
            journey=self,
            page=page,
            back=self.back(page),
            **context,
        )
