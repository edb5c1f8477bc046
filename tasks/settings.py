"""Settings of the Lambda functions, from environment variables, validated by a pydantic model.

Read at call time through `get_settings()`, which caches one validated `Settings` per distinct set of
environment values: the first call of a cold start validates (a bad value fails that invocation
loudly), later calls cost a few dict look-ups, and a process that changes the variables (the local
runtime sets them before invoking a handler in-process) gets fresh settings without a restart.
`reset_settings_cache()` drops the cache (tests).
"""

from __future__ import annotations

import functools
import os
import re
from typing import Final

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks import names
from tasks.domain.currencies import CURRENCIES

_ENV_TO_FIELD: Final = {
    names.ENV_ENVIRONMENT: "environment",
    names.ENV_LEDGER_TABLE: "ledger_table_name",
    names.ENV_DEFAULT_CURRENCY: "default_currency",
    names.ENV_SES_SANDBOX: "ses_sandbox",
    names.ENV_SANDBOX_RECIPIENT: "sandbox_recipient",
    names.ENV_RETENTION_DAYS: "retention_days",
    names.ENV_DELIVERED_RETENTION_DAYS: "delivered_retention_days",
    names.ENV_CLAIM_LEASE_SECONDS: "claim_lease_seconds",
    names.ENV_PACING_MAX_WAIT_SECONDS: "pacing_max_wait_seconds",
    names.ENV_SHOP_NAME: "shop_name",
}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The environment name goes into an SES tag value: only SES-safe characters.
    environment: str = Field(default="dev", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ledger_table_name: str = Field(default="", max_length=255)  # empty: the default name for the env
    default_currency: str = "USD"
    ses_sandbox: bool = True
    sandbox_recipient: str = f"success@{names.SES_SIMULATOR_DOMAIN}"
    retention_days: int = Field(default=90, ge=1, le=3650)
    delivered_retention_days: int = Field(default=names.DELIVERED_RETENTION_DAYS, ge=1, le=3650)
    claim_lease_seconds: int = Field(default=names.CLAIM_LEASE_SECONDS, ge=1, le=86_400)
    pacing_max_wait_seconds: float = Field(default=names.PACING_MAX_WAIT_SECONDS, gt=0, le=240)
    shop_name: str = Field(default="Example Shop", min_length=1, max_length=100)

    @field_validator("default_currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in CURRENCIES:
            raise ValueError(f"{value!r} is not a supported ISO 4217 code")
        return code

    @field_validator("sandbox_recipient")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            checked = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None
        return checked.ascii_email or checked.normalized

    @field_validator("shop_name")
    @classmethod
    def _single_line(cls, value: str) -> str:
        # The shop name goes into the Subject header.
        if re.search(r"[\x00-\x1f\x7f\u2028\u2029]", value):
            raise ValueError("must be a single line without control characters")
        return value.strip()

    @property
    def ledger_table(self) -> str:
        return self.ledger_table_name or names.resource_names(self.environment)["ledger_table"]


@functools.lru_cache(maxsize=8)
def _settings_from(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.model_validate({_ENV_TO_FIELD[key]: value for key, value in snapshot})


def get_settings() -> Settings:
    """The validated settings for the current environment variables (empty values mean unset)."""
    snapshot = tuple((key, value) for key in _ENV_TO_FIELD if (value := os.environ.get(key, "").strip()))
    return _settings_from(snapshot)


def reset_settings_cache() -> None:
    _settings_from.cache_clear()
