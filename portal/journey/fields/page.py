"""The form of one journey page: :func:`page_form` builds it, made once per page.

``templates/macros/fields.html`` renders it through :meth:`PageForm.view`; the view validates
it, then stores :meth:`PageForm.answers` and :meth:`PageForm.uploads`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from wtforms import Field as WTField
from wtforms.utils import unset_value

from portal.definitions.model import Field
from portal.journey.fields.base import field_type, unbound_field
from portal.journey.fields.buttons import ButtonsMixin
from portal.journey.fields.files import current_filename
from portal.journey.fields.groups import GroupField
from portal.journey.fields.names import checked_name, entry_title, field_name, field_name_of_path
from portal.journey.fields.views import EntryView, FieldView

#: page_form's default: the request's form and files on POST, nothing on GET.
FROM_REQUEST: Any = object()
_SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PageForm(ButtonsMixin, FlaskForm):
    """The form of one journey page; :func:`page_form` makes a subclass per page.

    On POST, :meth:`lookup_request` and :meth:`group_action` tell a "Find address" or an
    "Add"/"Remove" press from a real submit (:mod:`.buttons`): the view shows the page again
    for those (an entry is already added or removed when the form is made), and otherwise
    calls :meth:`validate`, then saves :meth:`answers` and :meth:`uploads`.
    """

    #: By field name: the page's field definitions, and those shown but not editable.
    _definitions: ClassVar[dict[str, Field]] = {}
    _locked_names: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        formdata: Any,
        answers: Mapping[str, Any],
        files: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        self._stored = dict(answers)
        self._validated = False
        self._action = None
        self._lookup = None
        # On POST only what was posted counts (a stored answer must not fill a radio left
        # unanswered, nor a group entry that moved up); locked fields show the stored answer.
        initial = {
            name: field_type(d.item).form_data(d.item, answers.get(d.key))
            for name, d in self._definitions.items()
            if d.key in answers and (formdata is None or name in self._locked_names)
        }
        super().__init__(formdata=formdata, data=initial, **kwargs)
        for name, definition in self._definitions.items():
            if definition.item.type == "file":
                current = files.get(definition.key) or current_filename(answers.get(definition.key))
                self[name].current_file = current
                if current:
                    self[name].flags.required = False  # a new file only replaces it
        if formdata is not None:
            self._read_buttons(formdata)

    def process(
        self, formdata: Any = None, obj: Any = None, data: Any = None, **kwargs: Any
    ) -> None:
        super().process(formdata, obj, data, **kwargs)
        # Locked answers come from the certified identity: whatever is posted for them is ignored.
        for name in self._locked_names:
            self[name].process(None, (data or {}).get(name, unset_value))

    # reading

    def field_for(self, key: str) -> WTField:
        """The WTForms field of a key (or of a path inside a group: ``household-0-name``)."""
        found = self._field_at(field_name_of_path(key))
        if found is None:
            name = field_name(key)
            if name not in self._definitions:
                raise KeyError(key)
            return self[name]
        return found

    @property
    def has_files(self) -> bool:
        """Whether the page needs ``enctype="multipart/form-data"``."""
        return any(d.item.type == "file" for d in self._definitions.values())

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        """Check every field that is not locked; locked fields are not read at all."""
        success = True
        for name, form_field in self._fields.items():
            if name in self._locked_names:
                form_field.errors = []
                continue
            extra = (extra_validators or {}).get(name, ())
            if not form_field.validate(self, extra):
                success = False
        self._validated = success
        return success

    def answers(self) -> dict[str, Any]:
        """The page's answers by key, in their stored shapes, after a successful validate().

        Locked keys and files are left out: the certified values stay as they are, and the
        view stores :meth:`uploads`.
        """
        if not self._validated:
            raise RuntimeError("answers() needs a successful validate() first")
        result = {}
        for name, definition in self._definitions.items():
            if name in self._locked_names or definition.item.type == "file":
                continue
            result[definition.key] = self._answer_of(self[name])
        return result

    def _answer_of(self, form_field: WTField) -> Any:
        if isinstance(form_field, GroupField):
            return [
                {
                    form_field.definitions[name].key: sub.answer
                    for name, sub in entry.form._fields.items()
                }
                for entry in form_field.entries
            ]
        return form_field.answer

    def uploads(self) -> dict[str, FileStorage]:
        """The files chosen on this page, by key (an unchanged file field is left out)."""
        return {
            d.key: self[name].data
            for name, d in self._definitions.items()
            if d.item.type == "file"
            and name not in self._locked_names
            and isinstance(self[name].data, FileStorage)
            and self[name].data
        }

    def file_errors(self) -> dict[str, list[str]]:
        """Why files were refused, by key: a file is not posted again when the page is shown
        again after a redirect, so its messages must be kept apart."""
        return {
            d.key: [str(message) for message in self[name].errors]
            for name, d in self._definitions.items()
            if d.item.type == "file" and self[name].errors
        }

    def view(self, definition: Field) -> FieldView:
        """What the template needs to render a field of this page."""
        name = field_name(definition.key)
        if name not in self._definitions:
            raise KeyError(definition.key)
        return self._view(self[name], definition, locked=name in self._locked_names)

    def _view(self, form_field: WTField, definition: Field, *, locked: bool) -> FieldView:
        kind = field_type(definition.item)
        view = FieldView(definition, form_field, kind, locked, self._stored.get(definition.key))
        if isinstance(form_field, GroupField) and not locked:
            for position, entry in enumerate(form_field.entries, 1):
                subviews = [
                    self._view(sub, form_field.definitions[name], locked=False)
                    for name, sub in entry.form._fields.items()
                ]
                view.entries.append(
                    EntryView(
                        index=entry.index,
                        title=entry_title(definition.item, position),
                        id=entry.id,
                        name=entry.name,
                        fields=subviews,
                        remove_value=f"{form_field.name}-{entry.index}",
                    )
                )
        return view


def page_form(
    fields: Sequence[Field],
    answers: Mapping[str, Any],
    *,
    formdata: Any = FROM_REQUEST,
    locked: Iterable[str] = frozenset(),
    files: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> PageForm:
    """The form for these fields: what was posted on POST, the stored answers on GET.

    ``locked`` keys (certified by the sign-in) are shown but not editable, and ignored when
    posted. ``files`` names the files already attached, by key, so a required file field is
    satisfied without a new upload. ``meta`` is passed to Flask-WTF (tests: ``{"csrf":
    False}``).
    """
    form_class = _form_class(tuple(fields), frozenset(locked))
    if formdata is FROM_REQUEST:
        submitted = bool(request) and request.method in _SUBMIT_METHODS
        formdata = CombinedMultiDict((request.files, request.form)) if submitted else None
    return form_class(formdata, answers, files or {}, meta=dict(meta or {}))


_form_classes: OrderedDict[tuple[Any, ...], tuple[tuple[Field, ...], type[PageForm]]] = (
    OrderedDict()
)
_form_classes_lock = threading.Lock()


def _form_class(fields: tuple[Field, ...], locked: frozenset[str]) -> type[PageForm]:
    """The form class of a page, made once: fields come from cached, immutable definitions,
    and building a WTForms class is a large part of a page's cost."""
    key = (tuple(id(f) for f in fields), locked & {f.key for f in fields})
    with _form_classes_lock:
        cached = _form_classes.get(key)
        if cached is not None and all(a is b for a, b in zip(cached[0], fields, strict=True)):
            _form_classes.move_to_end(key)
            return cached[1]
    definitions: dict[str, Field] = {}
    attributes: dict[str, Any] = {}
    locked_names = set()
    for definition in fields:
        name = checked_name(definition.key, PageForm)
        is_locked = definition.key in locked
        if is_locked:
            locked_names.add(name)
        attributes[name] = unbound_field(definition, locked=is_locked)
        definitions[name] = definition
    attributes["_definitions"] = definitions
    attributes["_locked_names"] = frozenset(locked_names)
    form_class = type("JourneyPageForm", (PageForm,), attributes)
    with _form_classes_lock:
        _form_classes[key] = (fields, form_class)
        while len(_form_classes) > 1024:
            _form_classes.popitem(last=False)
    return form_class
