"""Forms and workflows as data: read from ``forms/`` and ``workflows/``, checked, stored as
versions, and frozen into each case as the resident saw them."""
