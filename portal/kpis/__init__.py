"""Key performance indicators: the admins' dashboard and the public open data."""
