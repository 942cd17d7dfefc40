"""Municipalities (the tenants) and their departments."""
