"""The buttons that work without script: "Find address", "Add" and "Remove" are submits.

A press posts the whole page with the button's name and value; the page's form tells it from
a real submit (:class:`ButtonsMixin`), adds or removes the entry while it is made, and the
view shows the page again with what was typed kept.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from wtforms import Field as WTField

from portal.definitions.model import Field
from portal.japan import postal
from portal.japan.values import InvalidValue
from portal.journey.fields.base import ErrorMessage, message
from portal.journey.fields.groups import GroupField
from portal.journey.fields.names import (
    ADD,
    LOOKUP,
    REMOVE,
    entry_index,
    entry_title,
    field_name,
    field_name_of_path,
    key_of,
    path_of,
)
from portal.journey.fields.parts import AddressField


class ButtonsMixin:
    """What a page's form knows of its buttons; mixed into :class:`~.page.PageForm`."""

    _definitions: dict[str, Field]
    _locked_names: frozenset[str]
    _action: tuple[str, str, int | None] | None
    _lookup: str | None
    __getitem__: Any  # the form's own: its field by name

    def _read_buttons(self, formdata: Any) -> None:
        lookup = formdata.get(LOOKUP)
        if lookup and self._address_at(lookup) is not None:
            self._lookup = path_of(lookup)
        if (added := formdata.get(ADD)) in self._definitions:
            self._group_add(added)
        elif removed := formdata.get(REMOVE):
            name, _sep, index_text = removed.rpartition("-")
            index = entry_index(index_text)
            if name in self._definitions and index is not None:
                self._group_remove(name, index)

    def _group(self, name: str) -> GroupField | None:
        if name in self._locked_names or self._definitions[name].item.type != "group":
            return None
        return self[name]

    def _group_add(self, name: str) -> None:
        group = self._group(name)
        if group is None:
            return
        self._action = (ADD, key_of(name), None)
        if len(group.entries) < group.item.max_items:
            group.append_entry()

    def _group_remove(self, name: str, index: int) -> None:
        group = self._group(name)
        if group is None:
            return
        self._action = (REMOVE, key_of(name), index)
        if index < len(group.entries) and len(group.entries) > group.least:
            group.pop_entry(index)

    def group_action(self) -> tuple[str, str, int | None] | None:
        """``("add", key, None)`` or ``("remove", key, index)`` when an entry button was
        pressed (the entry is already added or removed), else None."""
        return self._action

    def lookup_request(self) -> str | None:
        """The key (or path, inside a group) of the address whose "Find address" was pressed."""
        return self._lookup

    def fill_from_postal_code(self, key: str) -> bool:
        """Fill prefecture, city and town from the postal code; False with a message beside
        the field when the code is not a postal code or is not found."""
        address = self._address_at(field_name_of_path(key))
        if address is None:
            raise KeyError(key)
        address.errors = []
        address.part_errors = {}
        address.found = None
        problem = None
        try:
            found = postal.lookup(address.raw["postal_code"])
        except InvalidValue as invalid:
            found, problem = None, message(invalid.message)
        if found is None:
            problem = problem or _("We could not find this postal code")
            address.part_errors = {"postal_code": problem}
            address.errors = [ErrorMessage(problem, address.part_id("postal_code"))]
            self._report_inside_group(key, problem, address.part_id("postal_code"))
            return False
        address.found = found
        address.raw.update(
            postal_code=found.postal_code, prefecture=found.prefecture, city=found.city
        )
        if found.town:
            address.raw["town"] = found.town
        return True

    def _report_inside_group(self, key: str, problem: str, target: str) -> None:
        top, _sep, rest = key.partition("-")
        index = entry_index(rest.split("-", 1)[0]) if rest else None
        if index is None:
            return
        group = self[field_name(top)]
        group.errors = list(group.errors)
        group.flag(f"{entry_title(group.item, index + 1)}: {problem}", target)

    def _address_at(self, name: str) -> AddressField | None:
        found = self._field_at(name)
        return found if isinstance(found, AddressField) else None

    def _field_at(self, name: str) -> WTField | None:
        top, _sep, rest = name.partition("-")
        if top not in self._definitions or top in self._locked_names:
            return None
        found: Any = self[top]
        if not rest:
            return found
        index_text, _sep, sub = rest.partition("-")
        index = entry_index(index_text)
        if not isinstance(found, GroupField) or index is None:
            return None
        entries = found.entries
        if index >= len(entries) or sub not in entries[index].form:
            return None
        return entries[index].form[sub]
