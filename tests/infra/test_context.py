"""Context parameters: cdk.json defaults, string forms from `-c`, and clear errors naming the key."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tasks import names
from workflow.app import CDK_JSON, build_app
from workflow.context import ContextError, load_config_from_mapping


def test_cdk_json_runs_app_py_and_holds_the_context_defaults() -> None:
    cdk_json = json.loads(CDK_JSON.read_text())
    assert cdk_json["app"] == "python3 bin/cdk-app"  # runs app.py with the venv's interpreter
    context = cdk_json["context"]
    assert {key: context[key] for key in names.CONTEXT_DEFAULTS} == names.CONTEXT_DEFAULTS


def test_defaults_parse_to_a_dev_config_with_the_sandbox_guard_on() -> None:
    config = load_config_from_mapping({})
    assert config.env == "dev"
    assert config.ses_sandbox is True
    assert config.sandbox_recipient == f"success@{names.SES_SIMULATOR_DOMAIN}"
    assert config.hosted_zone_id is None and config.alarm_email is None
    assert config.publisher_principals.is_default
    assert config.max_receive_count == 5
    assert config.bounce_rate_threshold == 0.02 and config.complaint_rate_threshold == 0.001
    assert config.execution_log_level == "ERROR"
    assert config.trace_sample_rate == 0.01  # one execution in a hundred (docs/ARCHITECTURE.md)
    assert config.function_log_level == "WARNING"  # the ledger keeps the per-order record


def test_cli_strings_are_parsed_to_typed_values() -> None:
    config = load_config_from_mapping(
        {
            "env": "prod",
            "maxReceiveCount": "7",
            "retentionDays": "30",
            "logRetentionDays": "14",
            "bounceRateThreshold": "0.05",
            "monthlyBudgetUsd": "12.50",
            "defaultCurrency": "eur",
            "executionLogLevel": "fatal",
            "functionLogLevel": "info",
            "publisherPrincipals": "arn:aws:iam::111111111111:role/svc, arn:aws:iam::222222222222:root",
        }
    )
    assert config.ses_sandbox is False  # prod default
    assert (config.max_receive_count, config.retention_days, config.log_retention_days) == (7, 30, 14)
    assert config.bounce_rate_threshold == 0.05
    assert config.monthly_budget_usd == Decimal("12.50")
    assert config.default_currency == "EUR"
    assert config.execution_log_level == "FATAL"
    assert config.function_log_level == "INFO"
    assert config.publisher_principals.role_or_user_arns == ("arn:aws:iam::111111111111:role/svc",)
    assert config.publisher_principals.account_ids == ("222222222222",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ("1", True), ("no", False), (True, True), ("", True)],
)
def test_ses_sandbox_accepts_booleans_and_their_strings(value: object, expected: bool) -> None:
    assert load_config_from_mapping({"sesSandbox": value}).ses_sandbox is expected


BAD_VALUES = [
    ("env", "staging"),
    ("fromAddress", "not-an-email"),
    ("domain", "bad_domain"),
    ("maxReceiveCount", "0"),
    ("maxReceiveCount", "five"),
    ("fromAddress", "orders@other.example"),
    ("sandboxRecipient", "nobody"),
    ("alarmEmail", "ops@"),
    ("hostedZoneId", "not-a-zone"),
    ("sesSandbox", "maybe"),
    ("publisherPrincipals", "arn:aws:iam::1234:role/short-account"),
    ("retentionDays", "-1"),
    ("logRetentionDays", "42"),
    ("bounceRateThreshold", "2"),
    ("complaintRateThreshold", "abc"),
    ("monthlyBudgetUsd", "0"),
    ("defaultCurrency", "dollars"),
    ("executionLogLevel", "DEBUG"),
    ("traceSampleRate", "-0.1"),
    ("traceSampleRate", "all"),
    ("functionLogLevel", "VERBOSE"),
    ("deliveredRetentionDays", "0"),
    ("defaultCurrency", "XYZ"),
    ("shopName", ""),
    ("shopName", "Shop\nBcc: victim@example.org"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES, ids=[f"{k}={v}" for k, v in BAD_VALUES])
def test_a_bad_value_fails_synth_with_a_message_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ContextError) as error:
        build_app({key: value}, nag=False)
    assert error.value.key == key
    assert f"'{key}'" in str(error.value)
    assert f"-c {key}=" in str(error.value)


def test_from_address_must_match_the_configured_domain_not_the_default() -> None:
    with pytest.raises(ContextError, match="fromAddress"):
        load_config_from_mapping({"domain": "mail.example.org"})  # fromAddress default is @shop.example


def test_intake_context_keys_parse_and_default() -> None:
    config = load_config_from_mapping({})
    assert (config.orders_api_rate_limit, config.orders_api_burst_limit) == (50, 100)
    assert config.orders_event_bus_name is None and config.orders_event_sources == ()
    assert config.orders_queue_arn is None and config.orders_queue_key_arn is None
    config = load_config_from_mapping(
        {
            "ordersApiRateLimit": "5",
            "ordersApiBurstLimit": "10",
            "ordersEventBusName": "shop-bus",
            "ordersEventSources": "com.shop.a, com.shop.b,",
            "ordersQueueArn": "arn:aws:sqs:eu-west-1:111111111111:shop-orders",
            "ordersQueueKeyArn": "arn:aws:kms:eu-west-1:111111111111:key/abcd-1234",
        }
    )
    assert (config.orders_api_rate_limit, config.orders_api_burst_limit) == (5, 10)
    assert config.orders_event_bus_name == "shop-bus"
    assert config.orders_event_sources == ("com.shop.a", "com.shop.b")
    assert config.orders_queue_arn == "arn:aws:sqs:eu-west-1:111111111111:shop-orders"
    assert config.orders_queue_key_arn == "arn:aws:kms:eu-west-1:111111111111:key/abcd-1234"


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"ordersApiRateLimit": "0"}, "ordersApiRateLimit"),
        ({"ordersApiBurstLimit": "many"}, "ordersApiBurstLimit"),
        ({"ordersQueueArn": "arn:aws:sns:us-east-1:111111111111:topic"}, "ordersQueueArn"),
        ({"ordersQueueArn": "arn:aws:sqs:us-east-1:111111111111:orders.fifo"}, "ordersQueueArn"),
        ({"ordersQueueKeyArn": "arn:aws:kms:us-east-1:111111111111:key/abcd"}, "ordersQueueKeyArn"),
        ({"ordersQueueArn": "arn:aws:sqs:us-east-1:111111111111:q", "ordersQueueKeyArn": "alias/x"}, "ordersQueueKeyArn"),
        ({"ordersEventSources": "bad source"}, "ordersEventSources"),
        ({"ordersEventBusName": "bad bus"}, "ordersEventBusName"),
    ],
)
def test_bad_intake_context_values_name_their_key(context: dict[str, str], key: str) -> None:
    with pytest.raises(ContextError) as error:
        load_config_from_mapping(context)
    assert error.value.key == key
