"""Accounts (one per OpenID Connect identity) and the staff roles granted inside the portal."""
