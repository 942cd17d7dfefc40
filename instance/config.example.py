# Copy to instance/config.py and adapt. Environment variables PORTAL_<NAME> override these.
# Production refuses to start with unsafe settings (the development ID provider, a weak secret
# key, SQLite, http URLs, ...) and names each one to fix.

# ENV = "production"
# SECRET_KEY = "a long random value: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# DATABASE_URL = "postgresql://portal@db.example.lg.jp/portal"
# BASE_URL = "https://portal.city.example.lg.jp"  # required in production; no path
# TRUSTED_PROXIES = 1  # behind one TLS-terminating proxy

# Residents' OpenID Connect provider
# OIDC_DISCOVERY_URL = "https://id.example.jp/.well-known/openid-configuration"
# OIDC_CLIENT_ID = "madoguchi"
# OIDC_CLIENT_SECRET = "from the provider"
# OIDC_ACR = "the provider's value for the My Number card's public personal authentication"

# Staff's provider (when unset, staff use the residents' provider)
# STAFF_OIDC_DISCOVERY_URL = ""
# STAFF_OIDC_CLIENT_ID = ""
# STAFF_OIDC_CLIENT_SECRET = ""
# STAFF_OIDC_ACR = ""
