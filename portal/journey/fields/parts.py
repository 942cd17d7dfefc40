"""WTForms fields asked with several inputs (a date, an address), keeping one list of errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from wtforms import Field as WTField
from wtforms.utils import unset_value

from portal.definitions.model import ADDRESS_PARTS
from portal.japan import postal


class PartsField(WTField):
    """A field asked with several inputs, keeping one list of errors.

    ``raw`` holds what each input shows; ``part_errors`` the message beside each part (or
    ``error_parts`` the parts to highlight under one message). ``id`` is the input an error
    summary links to: the first part with an error, else the first part; ``container_id`` is
    the field's own id, which every part's id starts with.
    """

    parts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.error_parts: tuple[str, ...] = ()
        self.part_errors: dict[str, str] = {}
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def id(self) -> str:
        marked = [p for p in self.parts if p in self.part_errors or p in self.error_parts]
        return self.part_id(marked[0] if marked else self.parts[0])

    @id.setter
    def id(self, value: str) -> None:
        self.container_id = value

    def part_id(self, part: str) -> str:
        return f"{self.container_id}-{part}"

    def part_name(self, part: str) -> str:
        return f"{self.name}-{part}"

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.error_parts = ()
        self.part_errors = {}
        if data is unset_value:
            data = self.default
        self.object_data = data
        self.data = data
        self.raw = self.raw_from_data(data)
        if formdata is not None:
            self.raw = {part: formdata.get(self.part_name(part), "") for part in self.parts}
            self.raw_data = list(self.raw.values())

    def raw_from_data(self, data: Any) -> dict[str, str]:
        raise NotImplementedError

    def _value(self) -> str:
        return ""


class DateField(PartsField):
    """Year, month and day in three inputs (GOV.UK's date pattern), in Japanese order."""

    parts = ("year", "month", "day")

    def raw_from_data(self, data: Any) -> dict[str, str]:
        try:
            day = date.fromisoformat(str(data)) if data else None
        except ValueError:
            day = None
        if day is None:
            return dict.fromkeys(self.parts, "")
        return {"year": str(day.year), "month": str(day.month), "day": str(day.day)}


class AddressField(PartsField):
    """A Japanese address: postal code first, then what it decides, then the rest."""

    parts = ADDRESS_PARTS[:-1]

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        self.found: postal.PostalAddress | None = None

    def raw_from_data(self, data: Any) -> dict[str, str]:
        stored = data if isinstance(data, Mapping) else {}
        return {part: str(stored.get(part) or "") for part in self.parts}
