"""The read-only status API with API Gateway (REST) proxy events, over moto's DynamoDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tasks import clock
from tasks.adapters.ledger import serialize_item
from tasks.status_api import handler, parse_limit, parse_since
from tests.unit.helpers import TABLE_NAME, load_event, sent_item

NOW = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)


@pytest.fixture
def ledger(ledger_client: Any) -> Any:
    items = [
        sent_item("ORD-1001", status="DELIVERED", updatedAt="2024-05-02T11:00:00.000Z"),
        sent_item("ORD/é 1", "ses-2", updatedAt="2024-05-02T11:00:00.000Z"),
        sent_item("ORD-F1", "ses-3", status="FAILED", listedStatus="FAILED", updatedAt="2024-05-02T10:00:00.000Z", lastError="SesV2.MessageRejectedException", lastCause="Email address is not verified."),
        sent_item("ORD-F2", "ses-4", status="FAILED", listedStatus="FAILED", updatedAt="2024-05-02T09:00:00.000Z", lastError="States.Timeout"),
        sent_item("ORD-F-OLD", "ses-5", status="FAILED", listedStatus="FAILED", updatedAt="2024-04-01T09:00:00.000Z"),
    ]
    for item in items:
        ledger_client.put_item(TableName=TABLE_NAME, Item=serialize_item(item))
    return ledger_client


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, Any]:
    response = handler(event, lambda_context)
    headers = response.get("multiValueHeaders") or {}
    assert headers["Content-Type"][0].startswith("application/json")
    return response["statusCode"], json.loads(response["body"])


def test_get_order(ledger: Any, lambda_context: Any) -> None:
    status, body = call(load_event("apigw/get-order.json"), lambda_context)
    assert status == 200
    assert body["orderId"] == "ORD-1001" and body["status"] == "DELIVERED"
    assert body["sesMessageId"] == "ses-msg-1"
    assert body["attempts"][0]["outcome"] == "SENT"
    assert "request" not in body


def test_get_order_with_an_encoded_id(ledger: Any, lambda_context: Any) -> None:
    status, body = call(load_event("apigw/get-order-encoded.json"), lambda_context)
    assert status == 200 and body["orderId"] == "ORD/é 1"


def test_unknown_order_is_404(ledger: Any, lambda_context: Any) -> None:
    status, body = call(load_event("apigw/get-order-missing.json"), lambda_context)
    assert status == 404 and "NO-SUCH-ORDER" in body["message"]


def test_recent_failed_orders(ledger: Any, lambda_context: Any) -> None:
    status, body = call(load_event("apigw/list-failed.json"), lambda_context)
    assert status == 200
    assert body["status"] == "FAILED" and body["since"] == "2024-05-01T12:00:00.000Z" and body["limit"] == 50
    assert [order["orderId"] for order in body["orders"]] == ["ORD-F1", "ORD-F2"]
    assert body["orders"][0]["lastError"] == "SesV2.MessageRejectedException"
    assert "timeline" not in body["orders"][0]


def test_since_and_limit_from_the_query(ledger: Any, lambda_context: Any) -> None:
    event = load_event("apigw/list-failed.json")
    event["queryStringParameters"] = {"status": "failed", "since": "2024-04-01T00:00:00Z", "limit": "2"}
    status, body = call(event, lambda_context)
    assert status == 200 and [order["orderId"] for order in body["orders"]] == ["ORD-F1", "ORD-F2"]
    event["queryStringParameters"]["limit"] = "3"
    assert [order["orderId"] for order in call(event, lambda_context)[1]["orders"]] == ["ORD-F1", "ORD-F2", "ORD-F-OLD"]


@pytest.mark.parametrize(
    ("event_file", "query", "needle"),
    [
        ("apigw/list-unknown-status.json", None, "status must be one of"),
        ("apigw/list-bad-since.json", None, "since must be"),
        ("apigw/list-failed.json", {"status": "FAILED", "limit": "0"}, "limit"),
        ("apigw/list-failed.json", {"status": "FAILED", "limit": "many"}, "limit"),
        ("apigw/list-failed.json", {"status": "FAILED", "since": "99999999d"}, "since must be"),
        ("apigw/list-failed.json", {}, "status must be one of"),
    ],
)
def test_bad_queries_are_400(ledger: Any, lambda_context: Any, event_file: str, query: dict[str, str] | None, needle: str) -> None:
    event = load_event(event_file)
    if query is not None:
        event["queryStringParameters"] = query
    status, body = call(event, lambda_context)
    assert status == 400 and needle in body["message"]


def test_parse_since_and_limit() -> None:
    assert parse_since("90m", now=NOW) == "2024-05-02T10:30:00.000Z"
    assert parse_since("7d", now=NOW) == "2024-04-25T12:00:00.000Z"
    assert parse_since("2024-05-01T14:00:00+02:00", now=NOW) == "2024-05-01T12:00:00.000Z"
    assert parse_since("2024-05-01T12:00:00", now=NOW) == "2024-05-01T12:00:00.000Z"
    with pytest.raises(ValueError):
        parse_since("last week", now=NOW)
    assert parse_limit(None) == 50 and parse_limit("200") == 200
    with pytest.raises(ValueError):
        parse_limit("201")
