"""The back office's work on filed requests: their lifecycle, events, corrections and the
codes under which each department knows a resident."""
