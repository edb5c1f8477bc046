"""Shared test helpers: event files, sample orders, and the ledger table on moto."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordermail.emulator.provision import ledger_table_request
from tasks import names
from tasks.domain.ledger_codec import pack_request

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
SES_EVENTS_DIR = EVENTS_DIR / "ses"
TABLE_NAME = "ordermail-test-ledger"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:express:ordermail-test-order-email:exec-1:run-1"
EXECUTION_NAME = "exec-1"
SETTINGS_ENV = (
    names.ENV_ENVIRONMENT,
    names.ENV_LEDGER_TABLE,
    names.ENV_DEFAULT_CURRENCY,
    names.ENV_SES_SANDBOX,
    names.ENV_SANDBOX_RECIPIENT,
    names.ENV_RETENTION_DAYS,
    names.ENV_CLAIM_LEASE_SECONDS,
    names.ENV_SHOP_NAME,
)


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "ordermail-test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ordermail-test-function"
    aws_request_id: str = "5b6c7d8e-0000-4000-8000-000000000001"


def load_event(relative: str) -> Any:
    return json.loads((EVENTS_DIR / relative).read_text(encoding="utf-8"))


def ses_fixture_names() -> list[str]:
    return sorted(path.name for path in SES_EVENTS_DIR.glob("*.json"))


def sample_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "orderId": "ORD-1001",
        "customerEmail": "jane.doe@example.com",
        "customerName": "Jane Doe",
        "items": [
            {"name": "Espresso beans 1 kg", "quantity": 2, "unitPrice": "18.50", "sku": "BEAN-1K"},
            {"name": "Milk frother", "quantity": 1, "unitPrice": "29.99"},
        ],
        "total": "66.99",
        "currency": "USD",
        "timestamp": "2024-05-01T12:00:00+02:00",
        "metadata": {"channel": "web"},
    }
    order.update(overrides)
    return order


def pipe_event(body: str, *, message_attributes: dict[str, Any] | None = None, receive_count: str = "1") -> dict[str, Any]:
    """The Validate state's input: the Pipe's array of one SQS record, plus the execution ARN."""
    event = load_event("validate/pipe-order.json")
    record = event["records"][0]
    record["body"] = body
    record["attributes"]["ApproximateReceiveCount"] = receive_count
    if message_attributes is not None:
        record["messageAttributes"] = message_attributes
    return event


def string_attribute(value: str) -> dict[str, Any]:
    return {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}


def ses_record(fixture: str, *, message_id: str | None = None, order_id: str | None = None,
               header_order_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """An SES fixture with our messageId / orderId tag (or X-OrderMail-Order-Id header); `changes`
    replace top-level detail objects."""
    record = copy.deepcopy(json.loads((SES_EVENTS_DIR / fixture).read_text(encoding="utf-8")))
    if message_id is not None:
        record["mail"]["messageId"] = message_id
    if order_id is not None:
        record["mail"].setdefault("tags", {})[names.SES_TAG_ORDER_ID] = [order_id]
    if header_order_id is not None:
        record["mail"].setdefault("headers", []).append({"name": names.ORDER_ID_HEADER, "value": header_order_id})
    for key, value in changes.items():
        record[key] = {**record.get(key, {}), **value}
    return record


def sns_event(*records: object) -> dict[str, Any]:
    """An SNS → Lambda event; a str record is passed as the Message verbatim (to test bad JSON)."""
    template = load_event("feedback/sns-ses-delivery.json")["Records"][0]
    wrapped = []
    for index, record in enumerate(records):
        entry = copy.deepcopy(template)
        entry["Sns"]["MessageId"] = f"sns-message-{index}"
        entry["Sns"]["Message"] = record if isinstance(record, str) else json.dumps(record)
        wrapped.append(entry)
    return {"Records": wrapped}


def sqs_sns_event(*records: object) -> dict[str, Any]:
    template = load_event("feedback/sqs-sns-ses-bounce.json")["Records"][0]
    wrapped = []
    for index, record in enumerate(records):
        entry = copy.deepcopy(template)
        envelope = json.loads(entry["body"])
        envelope["Message"] = json.dumps(record)
        entry["body"] = json.dumps(envelope)
        entry["messageId"] = f"sqs-message-{index}"
        wrapped.append(entry)
    return {"Records": wrapped}


def create_ledger_table(client: Any, table_name: str = TABLE_NAME) -> None:
    """The ledger table as docs/LEDGER.md describes it (keys and both keys-only indexes)."""
    client.create_table(**ledger_table_request(table_name))


def sent_item(order_id: str = "ORD-1001", ses_message_id: str = "ses-msg-1", **overrides: Any) -> dict[str, Any]:
    """A ledger item as the state machine leaves it after Claim + RecordSent (docs/LEDGER.md)."""
    item: dict[str, Any] = {
        "orderId": order_id,
        "status": "SENT",
        "updatedAt": "2024-05-01T10:00:02.000Z",
        "recipient": "jane.doe@example.com",
        "deliverTo": "success@simulator.amazonses.com",
        "payloadHash": "a" * 32,
        "request": base64.b64decode(pack_request(json.dumps(sample_order(orderId=order_id)))),
        "attemptCount": Decimal(1),
        "version": Decimal(2),
        "expiresAt": Decimal(1_800_000_000),
        "timeline": [
            {"type": "ATTEMPT_STARTED", "at": "2024-05-01T10:00:01.000Z", "execution": EXECUTION_NAME, "receiveCount": "1"},
            {"type": "ATTEMPT_SENT", "at": "2024-05-01T10:00:02.000Z", "execution": EXECUTION_NAME, "sesMessageId": ses_message_id},
        ],
    }
    item.update(overrides)
    return item
