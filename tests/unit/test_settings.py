"""Settings from environment variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasks import names
from tasks.settings import get_settings, reset_settings_cache


def test_defaults_suit_a_local_run() -> None:
    settings = get_settings()
    assert settings.environment == "dev"
    assert settings.default_currency == "USD"
    assert settings.ses_sandbox is True
    assert settings.sandbox_recipient == "success@simulator.amazonses.com"
    assert settings.retention_days == 90
    assert settings.claim_lease_seconds == names.CLAIM_LEASE_SECONDS
    assert settings.shop_name == "Example Shop"
    assert settings.ledger_table == "ordermail-dev-ledger"


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_ENVIRONMENT, "prod")
    monkeypatch.setenv(names.ENV_DEFAULT_CURRENCY, "eur")
    monkeypatch.setenv(names.ENV_SES_SANDBOX, "false")
    monkeypatch.setenv(names.ENV_RETENTION_DAYS, "30")
    monkeypatch.setenv(names.ENV_LEDGER_TABLE, "custom-table")
    monkeypatch.setenv(names.ENV_SHOP_NAME, "  Café Zoë ")
    settings = get_settings()
    assert (settings.environment, settings.default_currency, settings.ses_sandbox) == ("prod", "EUR", False)
    assert (settings.retention_days, settings.ledger_table, settings.shop_name) == (30, "custom-table", "Café Zoë")


def test_changed_environment_is_seen_without_a_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().shop_name == "Example Shop"
    monkeypatch.setenv(names.ENV_SHOP_NAME, "Other Shop")
    assert get_settings().shop_name == "Other Shop"
    assert get_settings() is get_settings()  # cached per distinct environment
    reset_settings_cache()
    assert get_settings().shop_name == "Other Shop"


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_LEDGER_TABLE, "")
    monkeypatch.setenv(names.ENV_DEFAULT_CURRENCY, " ")
    assert get_settings().ledger_table == "ordermail-dev-ledger"
    assert get_settings().default_currency == "USD"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (names.ENV_DEFAULT_CURRENCY, "XXX"),
        (names.ENV_SES_SANDBOX, "maybe"),
        (names.ENV_RETENTION_DAYS, "0"),
        (names.ENV_CLAIM_LEASE_SECONDS, "-5"),
        (names.ENV_ENVIRONMENT, "dev env"),  # goes into an SES tag value
        (names.ENV_SANDBOX_RECIPIENT, "not-an-address"),
        (names.ENV_SHOP_NAME, "Shop\r\nBcc: x@example.com"),
    ],
)
def test_bad_values_fail_loudly(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        get_settings()
