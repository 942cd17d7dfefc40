"""HTML names of keys: ``move.new_address`` is the field ``move__new_address``.

Parts and entries follow WTForms: ``move__new_address-postal_code``, ``household-0-name``. A
"path" names a field inside a group entry the same way, with the key: ``household-0-name``.
"""

from __future__ import annotations

from portal.definitions.model import Item

_SEPARATOR = "__"

#: The no-script buttons' names (:mod:`.buttons`): find an address, add an entry, remove one.
LOOKUP, ADD, REMOVE = "lookup", "add", "remove"
#: Names that a page's own fields may not take: the form's attributes and its buttons.
RESERVED = frozenset({LOOKUP, ADD, REMOVE, "csrf_token", "meta", "data", "prefix", "obj"})


def field_name(key: str) -> str:
    """The HTML-safe name of a key: ``move.new_address`` is ``move__new_address``.

    Raises ``ValueError`` for a key that would not come back by :func:`key_of` (one with
    ``__`` or a part ending in ``_``): such a key cannot be asked on a page.
    """
    name = key.replace(".", _SEPARATOR)
    if key_of(name) != key:
        raise ValueError(f"{key!r} has no reversible HTML name")
    return name


def key_of(name: str) -> str:
    """The key of an HTML name: the inverse of :func:`field_name`."""
    return name.replace(_SEPARATOR, ".")


def checked_name(key: str, form_class: type) -> str:
    """The field name of a key that a form of ``form_class`` can hold, or ``ValueError``."""
    name = field_name(key)
    if name in RESERVED or hasattr(form_class, name) or name.startswith("_"):
        raise ValueError(f"{key!r} cannot be asked: its name {name!r} is taken by the form")
    return name


def field_name_of_path(path: str) -> str:
    """``household.members-0-name`` is ``household__members-0-name``."""
    top, sep, rest = path.partition("-")
    return field_name(top) + sep + rest


def path_of(name: str) -> str:
    """``household__members-0-name`` is ``household.members-0-name``."""
    top, sep, rest = name.partition("-")
    return key_of(top) + sep + rest


#: The longest entry index read from a posted name: more digits are not an entry.
_MAX_INDEX_DIGITS = 4


def entry_index(text: str) -> int | None:
    """An entry's index from a posted name or button value, or None when it is not one.

    Only ASCII digits, and few of them: ``str.isdigit`` accepts ``²`` and ``int`` refuses
    more than 4,300 digits, and neither may reach ``int`` from a request.
    """
    if not 0 < len(text) <= _MAX_INDEX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def entry_title(item: Item, position: int) -> str:
    """The title of an entry ("Child 2"): the group's item label and its place from 1."""
    return f"{item.item_label or item.label} {position}"
