"""The resident's mailbox: every message a department sends them, also by e-mail when they
gave an address."""
