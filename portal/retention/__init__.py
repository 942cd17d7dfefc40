"""Retention: drafts left untouched and decided cases past their forms' retention, removed
by a nightly job (``portal.retention.tasks``) or ``flask --app portal retention run``."""
