"""Notifications by e-mail: the address a resident gives, its confirmation, on or off."""
