"""Deployment parameters: read from CDK context, validated once at synth.

Values come from `cdk.json` (defaults, equal to `names.CONTEXT_DEFAULTS`) and `-c key=value`
overrides. The CLI hands every `-c` value over as a string, so each parser accepts the string form
as well as the JSON type cdk.json holds. Any missing or malformed value stops synth with a
`ContextError` that names the key: a typo must fail before CloudFormation sees anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from tasks import names

EXECUTION_LOG_LEVELS: Final = ("ALL", "ERROR", "FATAL", "OFF")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS: Final = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE: Final = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.[A-Za-z]{{2,63}}$")
_LOCAL_RE: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_CURRENCY_RE: Final = re.compile(r"^[A-Z]{3}$")
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_HOSTED_ZONE_RE: Final = re.compile(r"^Z[A-Z0-9]{1,31}$")
_PRINCIPAL_RE: Final = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):(?P<kind>root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$"
)
_SQS_ARN_RE: Final = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_KMS_KEY_ARN_RE: Final = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]{1,128}$")
_EVENT_BUS_RE: Final = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
_EVENT_SOURCE_RE: Final = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


class ContextError(ValueError):
    """A CDK context value is missing or malformed; `key` names it."""

    def __init__(self, key: str, problem: str, value: object) -> None:
        self.key = key
        super().__init__(
            f"Invalid CDK context value for '{key}': {problem} (got {value!r}). "
            f"Fix it in cdk.json or pass -c {key}=<value>."
        )


@dataclass(frozen=True, kw_only=True)
class PublisherPrincipals:
    """Who may publish orders. Empty tuples mean: any principal of the deploying account."""

    role_or_user_arns: tuple[str, ...] = ()
    account_ids: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return not self.role_or_user_arns and not self.account_ids

    @property
    def arns(self) -> tuple[str, ...]:
        """Every configured principal as an IAM ARN (accounts as their root ARN)."""
        return self.role_or_user_arns + tuple(f"arn:aws:iam::{a}:root" for a in self.account_ids)


@dataclass(frozen=True, kw_only=True)
class UsersTable:
    """The shop's existing users table the workflow reads customers from (context usersTable)."""

    table: str  # a name (this account and region) or a table ARN
    key: str
    email_attribute: str
    name_attribute: str
    locale_attribute: str | None
    key_arn: str | None  # its customer-managed KMS key, when it has one


@dataclass(frozen=True, kw_only=True)
class OrderMailConfig:
    """Validated deployment parameters (see docs/RUNBOOK.md for what each one does)."""

    env: str
    domain: str
    from_address: str
    shop_name: str
    hosted_zone_id: str | None
    ses_sandbox: bool
    sandbox_recipient: str
    alarm_email: str | None
    publisher_principals: PublisherPrincipals
    retention_days: int
    delivered_retention_days: int
    log_retention_days: int
    max_receive_count: int
    default_currency: str
    bounce_rate_threshold: float
    complaint_rate_threshold: float
    monthly_budget_usd: Decimal
    execution_log_level: str
    trace_sample_rate: float
    function_log_level: str
    orders_api_rate_limit: int = 50
    orders_api_burst_limit: int = 100
    orders_event_bus_name: str | None = None  # None: the stack creates ordermail-<env>
    orders_event_sources: tuple[str, ...] = ()  # empty: any source
    orders_queue_arn: str | None = None  # the shop's queue: no topic, queue, API or rule then
    orders_queue_key_arn: str | None = None
    ses_max_send_rate: int = names.SES_SANDBOX_SEND_RATE  # mails per second the workflow paces sends to
    ses_daily_quota: int = 200  # the quota alarm's reference
    users_table: UsersTable | None = None  # customer lookup by id (workflow/lookup.py)
    status_events: bool = False  # statusEvents, or implied by statusEventBusName (docs/EVENTS.md)
    status_event_bus_name: str | None = None  # None: the intake's bus (or ordermail-<env>)

    def function_environment(self, function: str, *, ledger_table: str) -> dict[str, str]:
        """The function's environment variables (shared with the local runtime: names.function_environment)."""
        return names.function_environment(
            function,
            env=self.env,
            ledger_table=ledger_table,
            default_currency=self.default_currency,
            ses_sandbox=self.ses_sandbox,
            sandbox_recipient=self.sandbox_recipient,
            retention_days=self.retention_days,
            delivered_retention_days=self.delivered_retention_days,
            shop_name=self.shop_name,
        )

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"


# --- value parsers: each takes (key, raw value) and returns the typed value or raises -------------


def _text(key: str, value: object) -> str:
    if value is None or not isinstance(value, str | int | float):
        raise ContextError(key, "expected a string", value)
    return str(value).strip()


def _required_text(key: str, value: object, *, max_len: int = 256) -> str:
    text = _text(key, value)
    if not text:
        raise ContextError(key, "must not be empty", value)
    if len(text) > max_len:
        raise ContextError(key, f"longer than {max_len} characters", value)
    return text


def _optional_text(key: str, value: object) -> str | None:
    if value is None:
        return None
    return _text(key, value) or None


def _domain(key: str, value: object) -> str:
    text = _required_text(key, value).lower()
    if not _DOMAIN_RE.match(text):
        raise ContextError(key, "not a valid DNS domain name (letters, digits, '-', dots; no '_')", value)
    return text


def _email(key: str, value: object) -> str:
    text = _required_text(key, value, max_len=254)
    local, sep, domain = text.rpartition("@")
    if not sep or not local or len(local) > 64 or not _LOCAL_RE.match(local) or not _DOMAIN_RE.match(domain):
        raise ContextError(key, "not a valid e-mail address", value)
    return f"{local}@{domain.lower()}"


def _optional_email(key: str, value: object) -> str | None:
    return None if _optional_text(key, value) is None else _email(key, value)


def _bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(key, value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ContextError(key, "expected true or false", value)


def _int(key: str, value: object, *, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ContextError(key, "expected an integer", value)
    try:
        number = int(_text(key, value)) if not isinstance(value, int) else value
    except ValueError:
        raise ContextError(key, "expected an integer", value) from None
    if not low <= number <= high:
        raise ContextError(key, f"must be between {low} and {high}", value)
    return number


def _decimal(key: str, value: object) -> Decimal:
    if isinstance(value, bool):
        raise ContextError(key, "expected a number", value)
    try:
        number = Decimal(_text(key, value))
    except InvalidOperation:
        raise ContextError(key, "expected a number", value) from None
    if not number.is_finite():
        raise ContextError(key, "expected a finite number", value)
    return number


def _rate(key: str, value: object) -> float:
    number = _decimal(key, value)
    if not Decimal(0) < number < Decimal(1):
        raise ContextError(key, "must be a fraction between 0 and 1 (0.02 means 2%)", value)
    return float(number)


def _fraction(key: str, value: object) -> float:
    number = _decimal(key, value)
    if not Decimal(0) <= number <= Decimal(1):
        raise ContextError(key, "must be a fraction from 0 to 1 (0.05 means 5%)", value)
    return float(number)


def _choice(key: str, value: object, choices: tuple[str, ...], *, upper: bool = False) -> str:
    text = _text(key, value)
    text = text.upper() if upper else text
    if text not in choices:
        raise ContextError(key, f"must be one of {', '.join(choices)}", value)
    return text


def _publishers(key: str, value: object) -> PublisherPrincipals:
    if value is None:
        return PublisherPrincipals()
    items: list[object] = (
        list(value) if isinstance(value, list | tuple) else list(_text(key, value).split(","))
    )
    arns: list[str] = []
    accounts: list[str] = []
    for item in items:
        text = _text(key, item)
        if not text:
            continue
        match = _PRINCIPAL_RE.match(text)
        if not match:
            raise ContextError(
                key, "each entry must be an IAM ARN (arn:aws:iam::<account>:root|role/...|user/...)", text
            )
        if match["kind"] == "root":
            accounts.append(match["account"])
        else:
            arns.append(text)
    return PublisherPrincipals(
        role_or_user_arns=tuple(dict.fromkeys(arns)), account_ids=tuple(dict.fromkeys(accounts))
    )


def _optional_match(key: str, value: object, pattern: re.Pattern[str], what: str) -> str | None:
    text = _optional_text(key, value)
    if text is not None and not pattern.match(text):
        raise ContextError(key, f"not {what}", value)
    return text


def _event_sources(key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = list(value) if isinstance(value, list | tuple) else _text(key, value).split(",")
    sources = [_text(key, item) for item in items]
    for source in sources:
        if source and not _EVENT_SOURCE_RE.match(source):
            raise ContextError(key, "each entry must be an EventBridge source such as com.example.shop", source)
    return tuple(dict.fromkeys(s for s in sources if s))


def load_config(get: Callable[[str], Any]) -> OrderMailConfig:
    """Parse every parameter; `get(key)` returns the context value or None (e.g. node.try_get_context)."""

    def raw(key: str) -> object:
        value = get(key)
        return names.CONTEXT_DEFAULTS[key] if value is None else value

    env = _choice("env", raw("env"), names.ENVIRONMENTS)
    domain = _domain("domain", raw("domain"))
    from_address = _email("fromAddress", raw("fromAddress"))
    if from_address.rpartition("@")[2] != domain:
        raise ContextError(
            "fromAddress", f"must be an address at the sending domain '{domain}'", from_address
        )
    hosted_zone_id = _optional_text("hostedZoneId", raw("hostedZoneId"))
    if hosted_zone_id is not None and not _HOSTED_ZONE_RE.match(hosted_zone_id):
        raise ContextError("hostedZoneId", "not a Route 53 hosted zone id (Z...)", hosted_zone_id)
    sandbox_raw = raw("sesSandbox")
    # Unset (null or empty) means: the SES sandbox guard is on everywhere except prod.
    if sandbox_raw is None or (isinstance(sandbox_raw, str) and not sandbox_raw.strip()):
        ses_sandbox = env != "prod"
    else:
        ses_sandbox = _bool("sesSandbox", sandbox_raw)
    log_retention_days = _int("logRetentionDays", raw("logRetentionDays"), low=1, high=3653)
    if log_retention_days not in LOG_RETENTION_DAYS:
        raise ContextError(
            "logRetentionDays",
            f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}",
            log_retention_days,
        )
    budget = _decimal("monthlyBudgetUsd", raw("monthlyBudgetUsd"))
    if budget <= 0:
        raise ContextError("monthlyBudgetUsd", "must be greater than 0", budget)
    return OrderMailConfig(
        env=env,
        domain=domain,
        from_address=from_address,
        shop_name=_shop_name(raw("shopName")),
        hosted_zone_id=hosted_zone_id,
        ses_sandbox=ses_sandbox,
        sandbox_recipient=_email("sandboxRecipient", raw("sandboxRecipient")),
        alarm_email=_optional_email("alarmEmail", raw("alarmEmail")),
        publisher_principals=_publishers("publisherPrincipals", raw("publisherPrincipals")),
        retention_days=_int("retentionDays", raw("retentionDays"), low=1, high=3650),
        delivered_retention_days=_int("deliveredRetentionDays", raw("deliveredRetentionDays"), low=1, high=3650),
        log_retention_days=log_retention_days,
        max_receive_count=_int("maxReceiveCount", raw("maxReceiveCount"), low=1, high=1000),
        default_currency=_choice_currency(raw("defaultCurrency")),
        bounce_rate_threshold=_rate("bounceRateThreshold", raw("bounceRateThreshold")),
        complaint_rate_threshold=_rate("complaintRateThreshold", raw("complaintRateThreshold")),
        monthly_budget_usd=budget,
        execution_log_level=_choice(
            "executionLogLevel", raw("executionLogLevel"), EXECUTION_LOG_LEVELS, upper=True
        ),
        trace_sample_rate=_fraction("traceSampleRate", raw("traceSampleRate")),
        function_log_level=_choice(
            "functionLogLevel", raw("functionLogLevel"), names.FUNCTION_LOG_LEVELS, upper=True
        ),
        **_intake(raw),
        **_sending(raw, sandbox=ses_sandbox),
        users_table=_users_table(raw),
    )


def _sending(raw: Callable[[str], object], *, sandbox: bool) -> dict[str, Any]:
    """The SES account's figures (GetAccount's SendQuota). Unset, those AWS grants first: the sandbox's
    with the sandbox guard on, production access's without. Above 500/s one pacing item would need
    more than a DynamoDB partition's 1,000 writes a second (docs/PACING.md)."""
    rate, quota = raw("sesMaxSendRate"), raw("sesDailyQuota")
    empty = (None, "")
    return {
        "ses_max_send_rate": (names.SES_SANDBOX_SEND_RATE if sandbox else names.SES_PRODUCTION_SEND_RATE)
        if rate in empty else _int("sesMaxSendRate", rate, low=1, high=500),
        "ses_daily_quota": (200 if sandbox else 50_000)
        if quota in empty else _int("sesDailyQuota", quota, low=1, high=100_000_000),
    }


def _intake(raw: Callable[[str], object]) -> dict[str, Any]:
    rate = _int("ordersApiRateLimit", raw("ordersApiRateLimit"), low=1, high=10_000)
    burst = _int("ordersApiBurstLimit", raw("ordersApiBurstLimit"), low=1, high=5_000)
    queue_arn = _optional_match("ordersQueueArn", raw("ordersQueueArn"), _SQS_ARN_RE, "an SQS queue ARN")
    key_arn = _optional_match("ordersQueueKeyArn", raw("ordersQueueKeyArn"), _KMS_KEY_ARN_RE, "a KMS key ARN")
    if key_arn is not None and queue_arn is None:
        raise ContextError("ordersQueueKeyArn", "only applies together with ordersQueueArn", key_arn)
    if queue_arn is not None and queue_arn.endswith(".fifo"):
        raise ContextError("ordersQueueArn", "a FIFO queue is not supported (standard queues only)", queue_arn)
    return {
        "orders_api_rate_limit": rate,
        "orders_api_burst_limit": burst,
        "orders_event_bus_name": _optional_match(
            "ordersEventBusName", raw("ordersEventBusName"), _EVENT_BUS_RE, "an event bus name"
        ),
        "orders_event_sources": _event_sources("ordersEventSources", raw("ordersEventSources")),
        "orders_queue_arn": queue_arn,
        "orders_queue_key_arn": key_arn,
        **_status_events(raw),
    }


_DDB_TABLE_RE: Final = re.compile(
    r"^(arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/)?[A-Za-z0-9_.-]{3,255}$"
)
_ATTRIBUTE_RE: Final = re.compile(r"^[^\x00-\x1f]{1,255}$")


def _attribute(key: str, value: object) -> str:
    text = _required_text(key, value, max_len=255)
    if not _ATTRIBUTE_RE.match(text):
        raise ContextError(key, "not a DynamoDB attribute name", value)
    return text


def _users_table(raw: Callable[[str], object]) -> UsersTable | None:
    table = _optional_match("usersTable", raw("usersTable"), _DDB_TABLE_RE, "a DynamoDB table name or table ARN")
    key_arn = _optional_match("usersTableKeyArn", raw("usersTableKeyArn"), _KMS_KEY_ARN_RE, "a KMS key ARN")
    if table is None:
        if key_arn is not None:
            raise ContextError("usersTableKeyArn", "only applies together with usersTable", key_arn)
        return None
    locale = _optional_text("usersLocaleAttribute", raw("usersLocaleAttribute"))
    return UsersTable(
        table=table,
        key=_attribute("usersTableKey", raw("usersTableKey")),
        email_attribute=_attribute("usersEmailAttribute", raw("usersEmailAttribute")),
        name_attribute=_attribute("usersNameAttribute", raw("usersNameAttribute")),
        locale_attribute=None if locale is None else _attribute("usersLocaleAttribute", locale),
        key_arn=key_arn,
    )
def _status_events(raw: Callable[[str], object]) -> dict[str, Any]:
    bus = _optional_match("statusEventBusName", raw("statusEventBusName"), _EVENT_BUS_RE, "an event bus name")
    if bus == "default":  # the account's default bus carries AWS's own events: a custom bus only
        raise ContextError("statusEventBusName", "not the name of a custom event bus", bus)
    return {"status_events": _bool("statusEvents", raw("statusEvents")) or bus is not None,
            "status_event_bus_name": bus}


def _choice_currency(value: object) -> str:
    # The same list the Lambda settings accept: a code they would reject must not deploy.
    from tasks.domain.currencies import CURRENCIES

    text = _text("defaultCurrency", value).upper()
    if not _CURRENCY_RE.match(text) or text not in CURRENCIES:
        raise ContextError("defaultCurrency", "expected a supported ISO 4217 code such as USD or EUR", value)
    return text


def _shop_name(value: object) -> str:
    text = _required_text("shopName", value, max_len=100)
    if _CONTROL_RE.search(text):  # it goes into the Subject header
        raise ContextError("shopName", "must be a single line without control characters", value)
    return text


def load_config_from_mapping(context: Mapping[str, Any]) -> OrderMailConfig:
    """Same as `load_config`, from a plain mapping (tests, tools)."""
    return load_config(context.get)
