# Copy to instance/config.py and adapt. Environment variables PORTAL_<NAME> override these.
# Production refuses to start with the development ID provider, the default secret key or SQLite.

# ENV = "production"
# SECRET_KEY = "a long random value: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# DATABASE_URL = "postgresql://portal@db.example.lg.jp/portal"

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
