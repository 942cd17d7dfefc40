"""Settings come in layers, and production refuses what is unsafe, saying what to fix."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.config import UnsafeConfiguration

SAFE_PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": "x" * 48,
    "DATABASE_URL": "postgresql://portal@db.internal/portal",
    "OIDC_DISCOVERY_URL": "https://id.example.jp/.well-known/openid-configuration",
    "OIDC_CLIENT_ID": "portal",
    "OIDC_CLIENT_SECRET": "s3cret-from-the-provider",
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
    ],
)
def test_production_refuses_unsafe_settings(override: dict[str, str], named_setting: str) -> None:
    with pytest.raises(UnsafeConfiguration, match=named_setting):
        create_app({**SAFE_PRODUCTION, **override})


def test_production_starts_with_safe_settings() -> None:
    app = create_app(SAFE_PRODUCTION)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["STAFF_OIDC_CLIENT_ID"] == "portal"  # staff use the residents' provider


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
