"""The questions of a journey page as a form: one field type per item type, in a registry.

Each module does one job, so that what needs little imports little:

- :mod:`.names`: a key's HTML name and back (``move.new_address`` is ``move__new_address``);
- :mod:`.summary`: how a stored answer reads (check-your-answers, back office, PDFs), without
  WTForms, Flask-WTF or a request;
- :mod:`.base`: :class:`~.base.FieldType` and the registry of field types by item type;
- :mod:`.text`, :mod:`.numbers`, :mod:`.dates`, :mod:`.address`, :mod:`.choices`,
  :mod:`.files`, :mod:`.groups`: the field types, one family each;
- :mod:`.parts`: the WTForms fields asked with several inputs (a date, an address);
- :mod:`.buttons`: the buttons that work without script (Find address, Add, Remove);
- :mod:`.views`: what ``templates/macros/fields.html`` needs to render a field;
- :mod:`.page`: the page's form, :func:`~.page.page_form`, and the cache of form classes.

Stored shapes, by item type: text-like types a ``str``; ``number`` an ``int`` or a
``float``; ``date`` an ISO ``"YYYY-MM-DD"``; ``time`` ``"HH:MM"``; ``digits`` ASCII digits;
``postal_code`` ``"NNN-NNNN"``; ``phone`` its digits; ``address`` a dict of
:data:`~portal.definitions.model.ADDRESS_PARTS` with ``municipality_code``; ``select`` and
``radio`` an option value; ``yes_no`` a ``bool``; ``checkbox`` a list of option values;
``group`` a list of dicts by sub-field key. Files are not answers: the view stores
:meth:`~.page.PageForm.uploads`. An optional question left blank is ``""`` for text-like
types, ``[]`` for checkboxes and groups and ``None`` otherwise.

This package imports nothing itself: import what you need from its modules.
"""
