"""Test helpers: servers on free ports, HTML forms, and residents and staff who sign in."""
