"""Settings come in layers, and production refuses what is unsafe, saying what to fix."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from portal import create_app
from portal.certificates.statuslist_keys import ensure_key
from portal.config import DEVELOPMENT_CLIENT_SECRET, UnsafeConfiguration, secret_bits
from tests.certificates.pki import CA


def _production_signing_keys() -> str:
    """A municipality's key from a CA that is not the demo's (production refuses that one)."""
    directory = Path(tempfile.mkdtemp(prefix="portal-test-signing-"))
    CA.make().write_pkcs12(directory / "131016.p12")
    return str(directory)


#: The deployment's status list signing key, as an operator makes it once.
STATUS_LIST_KEY = Path(tempfile.mkdtemp(prefix="status-list-key-")) / "status-list-key.pem"
ensure_key(STATUS_LIST_KEY)

SAFE_PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": "q7Jx2mVbR9tLzW4kPc8nHs1dYf6gAe3uTo0iKvNw5Ma",  # a token_urlsafe(32)
    "PSEUDONYM_KEY": "Zr4Wq9Ld2Xk7Bn5Tc1Hv8Mp3Jy6Gs0Fa-Ue_Oi2Rw",
    "BASE_URL": "https://portal.city.example.jp",
    "DATABASE_URL": "postgresql://portal@db.internal/portal",
    "OIDC_DISCOVERY_URL": "https://id.example.jp/.well-known/openid-configuration",
    "OIDC_CLIENT_ID": "portal",
    "OIDC_CLIENT_SECRET": "s3cret-from-the-provider",
    "STATUS_LIST_KEY_FILE": str(STATUS_LIST_KEY),
    "RATELIMIT_STORAGE_URI": "redis://cache.internal:6379/0",
    "SIGNING_KEY_DIR": _production_signing_keys(),
}

MAIL = {
    "SMTP_HOST": "smtp.city.example.jp",
    "SMTP_USERNAME": "portal",
    "SMTP_PASSWORD": "from-the-mail-admin",
    "MAIL_FROM": "noreply@city.example.jp",
}


@pytest.mark.parametrize(
    ("override", "named_setting"),
    [
        ({"SECRET_KEY": "development-only-secret-key-do-not-deploy"}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "PORTAL_SECRET_KEY"),
        ({"OIDC_DISCOVERY_URL": ""}, "PORTAL_OIDC_DISCOVERY_URL"),
        ({"DATABASE_URL": ""}, "PORTAL_DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:////var/lib/portal.sqlite3"}, "PORTAL_DATABASE_URL"),
        ({"OIDC_CLIENT_SECRET": ""}, "PORTAL_OIDC_CLIENT_SECRET"),
        (
            {
                "STAFF_OIDC_DISCOVERY_URL": "https://staff-id.example.jp/.well-known/openid-configuration"
            },
            "PORTAL_STAFF_OIDC_CLIENT_ID",
        ),
        # Low-entropy secrets, not only short ones.
        ({"SECRET_KEY": "a" * 32}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": " " * 40}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": "0123456789abcdef" * 3}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": "password" * 5}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": "aB" * 20}, "PORTAL_SECRET_KEY"),
        # The residents' codes need a key of their own.
        ({"PSEUDONYM_KEY": ""}, "PORTAL_PSEUDONYM_KEY"),
        ({"PSEUDONYM_KEY": "x" * 40}, "PORTAL_PSEUDONYM_KEY"),
        (
            {"PSEUDONYM_KEY": "q7Jx2mVbR9tLzW4kPc8nHs1dYf6gAe3uTo0iKvNw5Ma"},
            "PORTAL_PSEUDONYM_KEY",
        ),
        # The metrics endpoint's token: none (the endpoint answers nobody), or a random one.
        ({"METRICS_TOKEN": "prometheus"}, "PORTAL_METRICS_TOKEN"),
        ({"METRICS_TOKEN": "m" * 40}, "PORTAL_METRICS_TOKEN"),
        # The development provider, named explicitly, or its published secret anywhere.
        (
            {"OIDC_DISCOVERY_URL": "http://127.0.0.1:5001/.well-known/openid-configuration"},
            "PORTAL_OIDC_DISCOVERY_URL",
        ),
        ({"OIDC_CLIENT_SECRET": DEVELOPMENT_CLIENT_SECRET}, "PORTAL_OIDC_CLIENT_SECRET"),
        (
            {
                "STAFF_OIDC_DISCOVERY_URL": "https://staff-id.example.jp/.well-known/openid-configuration",
                "STAFF_OIDC_CLIENT_ID": "portal",
                "STAFF_OIDC_CLIENT_SECRET": DEVELOPMENT_CLIENT_SECRET,
            },
            "PORTAL_STAFF_OIDC_CLIENT_SECRET",
        ),
        # Any plain-http or local provider URL, the staff's as well.
        (
            {"OIDC_DISCOVERY_URL": "http://id.example.jp/.well-known/openid-configuration"},
            "PORTAL_OIDC_DISCOVERY_URL",
        ),
        (
            {"OIDC_DISCOVERY_URL": "https://localhost:8443/.well-known/openid-configuration"},
            "PORTAL_OIDC_DISCOVERY_URL",
        ),
        (
            {
                "STAFF_OIDC_DISCOVERY_URL": "http://staff-id.example.jp/.well-known/openid-configuration",
                "STAFF_OIDC_CLIENT_ID": "portal-staff",
                "STAFF_OIDC_CLIENT_SECRET": "another-provider-secret",
            },
            "PORTAL_STAFF_OIDC_DISCOVERY_URL",
        ),
        # Load-test personas sign anyone in with one PIN.
        ({"DEVIDP_LOAD_PERSONAS": 100}, "PORTAL_DEVIDP_LOAD_PERSONAS"),
        ({"DEVIDP_LOAD_PERSONAS": "5"}, "PORTAL_DEVIDP_LOAD_PERSONAS"),
        ({"OIDC_ACR": ""}, "PORTAL_OIDC_ACR"),
        ({"OIDC_ACR": "   "}, "PORTAL_OIDC_ACR"),
        # The portal's own address: required, https, no path.
        ({"BASE_URL": ""}, "PORTAL_BASE_URL"),
        ({"BASE_URL": "http://portal.city.example.jp"}, "PORTAL_BASE_URL"),
        ({"BASE_URL": "https://127.0.0.1"}, "PORTAL_BASE_URL"),
        ({"BASE_URL": "https://portal.city.example.jp/portal?x=1"}, "PORTAL_BASE_URL"),
        # What a request may do.
        ({"WTF_CSRF_ENABLED": False}, "PORTAL_WTF_CSRF_ENABLED"),
        ({"WTF_CSRF_CHECK_DEFAULT": False}, "PORTAL_WTF_CSRF_CHECK_DEFAULT"),
        ({"DEBUG": True}, "PORTAL_DEBUG"),
        ({"TESTING": True}, "PORTAL_TESTING"),
        # Every cookie flag, of every cookie the portal may set.
        ({"SESSION_COOKIE_SAMESITE": "None"}, "PORTAL_SESSION_COOKIE_SAMESITE"),
        ({"SESSION_COOKIE_SAMESITE": None}, "PORTAL_SESSION_COOKIE_SAMESITE"),
        ({"SESSION_COOKIE_HTTPONLY": False}, "PORTAL_SESSION_COOKIE_HTTPONLY"),
        ({"REMEMBER_COOKIE_SAMESITE": None}, "PORTAL_REMEMBER_COOKIE_SAMESITE"),
        ({"REMEMBER_COOKIE_HTTPONLY": False}, "PORTAL_REMEMBER_COOKIE_HTTPONLY"),
        # Limits: negative, absurd, or one that the other makes unreachable.
        ({"SESSION_IDLE_MINUTES": -5}, "PORTAL_SESSION_IDLE_MINUTES"),
        ({"SESSION_IDLE_MINUTES": 0}, "PORTAL_SESSION_IDLE_MINUTES"),
        ({"SESSION_IDLE_MINUTES": 10**9}, "PORTAL_SESSION_IDLE_MINUTES"),
        ({"SESSION_MAX_HOURS": -1}, "PORTAL_SESSION_MAX_HOURS"),
        ({"SESSION_MAX_HOURS": 24 * 365}, "PORTAL_SESSION_MAX_HOURS"),
        ({"SESSION_IDLE_MINUTES": 120, "SESSION_MAX_HOURS": 1}, "PORTAL_SESSION_IDLE_MINUTES"),
        ({"UPLOAD_MAX_BYTES": 32 * 1024 * 1024}, "PORTAL_UPLOAD_MAX_BYTES"),
        ({"UPLOAD_MAX_BYTES": -1}, "PORTAL_UPLOAD_MAX_BYTES"),
        ({"FORM_MAX_BYTES": 64 * 1024 * 1024}, "PORTAL_FORM_MAX_BYTES"),
        ({"TRUSTED_PROXIES": -1}, "PORTAL_TRUSTED_PROXIES"),
        # Mail: residents' procedures never cross the network unencrypted.
        ({**MAIL, "SMTP_STARTTLS": False}, "PORTAL_SMTP_STARTTLS"),
        ({**MAIL, "SMTP_STARTTLS": "false"}, "PORTAL_SMTP_STARTTLS"),
        ({**MAIL, "MAIL_FROM": ""}, "PORTAL_MAIL_FROM"),
        ({**MAIL, "SMTP_USERNAME": ""}, "PORTAL_SMTP_USERNAME"),
        ({**MAIL, "SMTP_PORT": 70000}, "PORTAL_SMTP_PORT"),
    ],
)
def test_production_refuses_unsafe_settings(override: dict[str, str], named_setting: str) -> None:
    with pytest.raises(UnsafeConfiguration, match=named_setting):
        create_app({**SAFE_PRODUCTION, **override})


@pytest.mark.parametrize("value", ["thirty", "1.5", "", None])
def test_a_limit_that_is_not_a_whole_number_is_refused_everywhere(value: object) -> None:
    with pytest.raises(UnsafeConfiguration, match="PORTAL_SESSION_IDLE_MINUTES"):
        create_app({"SESSION_IDLE_MINUTES": value})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app({**SAFE_PRODUCTION, "SECRET_KEY": "a" * 40, "DEBUG": True, "BASE_URL": ""})
    for setting in ("PORTAL_SECRET_KEY", "PORTAL_DEBUG", "PORTAL_BASE_URL"):
        assert setting in str(refused.value)


def test_random_secrets_pass_the_entropy_estimate() -> None:
    import secrets

    from portal.config import MIN_SECRET_BITS

    for _ in range(200):
        assert secret_bits(secrets.token_hex(16)) >= MIN_SECRET_BITS
        assert secret_bits(secrets.token_urlsafe(32)) >= MIN_SECRET_BITS


def test_production_starts_with_safe_settings() -> None:
    app = create_app(SAFE_PRODUCTION)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["STAFF_OIDC_CLIENT_ID"] == "portal"  # staff use the residents' provider


def test_mail_through_a_relay_on_this_machine_may_skip_starttls() -> None:
    app = create_app({**SAFE_PRODUCTION, **MAIL, "SMTP_HOST": "127.0.0.1", "SMTP_STARTTLS": "off"})
    assert app.config["SMTP_STARTTLS"] is False


def test_a_flag_that_is_neither_on_nor_off_is_refused() -> None:
    with pytest.raises(UnsafeConfiguration, match="PORTAL_SMTP_STARTTLS: 'maybe'"):
        create_app({"SMTP_STARTTLS": "maybe"})


def test_no_discovery_url_means_the_development_provider() -> None:
    app = create_app({"DEVIDP_ISSUER": "http://127.0.0.1:5999"})
    assert app.config["DEVELOPMENT_PROVIDER"] is True
    assert app.config["OIDC_DISCOVERY_URL"] == (
        "http://127.0.0.1:5999/.well-known/openid-configuration"
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_OIDC_CLIENT_ID", "12345")
    monkeypatch.setenv("PORTAL_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv(
        "PORTAL_OIDC_DISCOVERY_URL", "https://id.example.jp/.well-known/openid-configuration"
    )
    app = create_app()
    assert app.config["OIDC_CLIENT_ID"] == "12345"  # stays a string though it looks like a number
    assert app.config["SESSION_IDLE_MINUTES"] == 15
    assert app.config["DEVELOPMENT_PROVIDER"] is False


def test_the_config_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_OIDC_ACR", "urn:from:environment")
    app = create_app({"OIDC_ACR": "urn:from:argument"})
    assert app.config["OIDC_ACR"] == "urn:from:argument"


def test_instance_config_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.py").write_text('OIDC_ACR = "urn:from:instance-file"\n')
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    assert create_app().config["OIDC_ACR"] == "urn:from:instance-file"


def status_for_host(app, host: str) -> int:
    with app.test_client().get("/static/favicon.svg", headers={"Host": host}) as response:
        return response.status_code


def test_production_answers_only_for_the_hosts_it_is_served_on() -> None:
    """A forged ``Host`` never reaches a view (nor a URL built from ``request.host``)."""
    app = create_app({**SAFE_PRODUCTION, "TRUSTED_HOSTS": "portal-internal.city.example.jp"})
    trusted = (
        "portal.city.example.jp",
        "portal.city.example.jp:443",
        "portal-internal.city.example.jp",
    )
    for host in trusted:
        assert status_for_host(app, host) == 200, host
    for host in ("evil.example", "portal.city.example.jp.evil.example", "127.0.0.1"):
        assert status_for_host(app, host) == 400, host
    # Without PORTAL_TRUSTED_HOSTS: the host of PORTAL_BASE_URL alone.
    assert create_app(SAFE_PRODUCTION).config["TRUSTED_HOSTS"] == ["portal.city.example.jp"]


def test_development_answers_for_any_host_unless_told() -> None:
    assert status_for_host(create_app({"BASE_URL": "http://127.0.0.1:5000"}), "localhost") == 200
    told = create_app({"TRUSTED_HOSTS": "localhost 127.0.0.1"})
    assert status_for_host(told, "localhost:5000") == 200
    assert status_for_host(told, "evil.example") == 400


@pytest.mark.parametrize("days", [0, -5, "ninety", "1.5"])
def test_the_draft_retention_must_be_a_positive_number_of_days(days: object) -> None:
    """Everywhere, not only in production: zero days would delete the drafts being filled."""
    with pytest.raises(UnsafeConfiguration, match="PORTAL_DRAFT_RETENTION_DAYS"):
        create_app({"DRAFT_RETENTION_DAYS": days})


def test_the_draft_retention_is_read_from_the_environment(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PORTAL_DRAFT_RETENTION_DAYS", "30")
    assert create_app({}).config["DRAFT_RETENTION_DAYS"] == 30


@pytest.mark.parametrize(
    ("override", "named_setting"),
    [
        ({"REPLICA_DATABASE_URL": "sqlite:////var/lib/replica.sqlite3"}, "REPLICA_DATABASE_URL"),
        ({"REPLICA_DATABASE_URL": SAFE_PRODUCTION["DATABASE_URL"]}, "REPLICA_DATABASE_URL"),
        ({"DATABASE_POOLER": "statement"}, "PORTAL_DATABASE_POOLER"),
    ],
)
def test_a_replica_or_pooler_that_cannot_work_is_refused(
    override: dict[str, str], named_setting: str
) -> None:
    with pytest.raises(UnsafeConfiguration, match=named_setting):
        create_app({**SAFE_PRODUCTION, **override})


def test_sqlite_has_neither_replica_nor_pooler() -> None:
    for override in (
        {"REPLICA_DATABASE_URL": "postgresql://portal@db-replica.internal/portal"},
        {"DATABASE_POOLER": "transaction"},
    ):
        with pytest.raises(UnsafeConfiguration, match="PORTAL_(REPLICA_)?DATABASE_"):
            create_app(override)


def test_a_replica_and_a_transaction_pooler_are_taken() -> None:
    app = create_app(
        {
            **SAFE_PRODUCTION,
            "REPLICA_DATABASE_URL": "postgres://portal@db-replica.internal/portal",
            "DATABASE_POOLER": "Transaction",
        }
    )
    assert app.config["REPLICA_SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://portal@db-replica.internal/portal"
    )
    assert app.config["DATABASE_POOLER"] == "transaction"
    # psycopg never prepares a statement: the next transaction may be on another connection.
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"prepare_threshold": None}
