"""What every response goes through: security headers and redirects, error pages, and the
template environment."""
