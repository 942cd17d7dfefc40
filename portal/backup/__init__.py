"""Backups of a deployment: the database and the files it names, in one archive.

``flask --app portal backup PATH`` writes one tar file: a manifest, the database (a
``pg_dump`` custom-format dump, or a copy of the SQLite file made with SQLite's online
backup API) and every upload and certificate file the database refers to, each member's
SHA-256 in the manifest. ``flask --app portal restore PATH`` checks all of it before it
touches anything. Keys and settings (``instance/``) are secrets and stay out of it.
"""
