"""Integration fixtures: the real ASL, handlers and templates executed by moto in this process.

One runtime per module (start-up is ~1.5 s); every test uses its own orderIds, so tests do not see
each other's orders. `time_scale` makes retry back-offs, SES delays, the visibility timeout and the
claim lease fast; no test sleeps for real seconds beyond what a redelivery needs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from ordermail.bench.meters import ApiCounter
from ordermail.emulator import LocalRuntime, RuntimeOptions
from tasks import names
from tasks.domain.ledger_view import order_view, request_body

_DESERIALIZER = TypeDeserializer()


class Harness:
    """What the tests do with a runtime: publish orders, wait, read the ledger and the outbox."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.sns = runtime.client("sns")
        self.sqs = runtime.client("sqs")
        self.ddb = runtime.client("dynamodb")
        self.outputs = runtime.outputs

    def publish(self, body: dict[str, Any] | str, **attributes: str) -> None:
        message = body if isinstance(body, str) else json.dumps(body)
        message_attributes = {
            names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}
        }
        for key, value in attributes.items():
            message_attributes[key] = {"DataType": "String", "StringValue": value}
        self.sns.publish(TopicArn=self.outputs["OrdersTopicArn"], Message=message, MessageAttributes=message_attributes)

    def enqueue(self, body: str, **attributes: str) -> None:
        """What `ordermail replay`/`resend` do: put a body straight on the orders queue."""
        self.sqs.send_message(
            QueueUrl=self.outputs["OrdersQueueUrl"],
            MessageBody=body,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )

    def settle(self, timeout: float = 60.0) -> None:
        assert self.runtime.wait_idle(timeout=timeout), "the runtime did not become idle"

    def item(self, order_id: str) -> dict[str, Any] | None:
        raw = self.ddb.get_item(
            TableName=self.outputs["LedgerTableName"], Key={"orderId": {"S": order_id}}, ConsistentRead=True
        ).get("Item")
        return None if raw is None else {k: _DESERIALIZER.deserialize(v) for k, v in raw.items()}

    def view(self, order_id: str) -> dict[str, Any]:
        """The public status document (what `ordermail status --json` and the status API show)."""
        item = self.item(order_id)
        assert item is not None, f"no ledger item for {order_id}"
        return order_view(item)

    def request(self, order_id: str) -> str:
        """The stored request body, as replay and resend read it."""
        body = request_body(self.item(order_id) or {})
        assert body is not None, f"no stored request for {order_id}"
        return body

    def mails_for(self, order_id: str) -> list[Any]:
        return [mail for mail in self.runtime.sent_mails() if mail.order_id == order_id]

    def timeline_types(self, order_id: str) -> list[str]:
        item = self.item(order_id) or {}
        return [entry["type"] for entry in item.get("timeline", [])]

    def event_types(self, order_id: str) -> list[str]:
        item = self.item(order_id) or {}
        return [entry["type"] for entry in item.get("events", [])]

    def send_email_calls(self) -> int:
        return int(self.runtime.instrument(ApiCounter).snapshot().get("sesv2", {}).get("SendEmail", 0))

    def dlq_bodies(self) -> list[str]:
        response = self.sqs.receive_message(
            QueueUrl=self.outputs["DeadLetterQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in response.get("Messages", [])]


def signed_get(url: str, *, access_key: str = "testing", secret_key: str = "testing",
               session_token: str | None = "testing") -> Any:
    """GET with a SigV4 signature, as an IAM-authorized API Gateway method requires (urllib response)."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(access_key, secret_key, session_token), "execute-api", "us-east-1").add_auth(request)
    return urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers)), timeout=10)


def make_order(order_id: str | None = None, *, email: str = "ana.silva@example.com", **overrides: Any) -> dict[str, Any]:
    items = [
        {"name": "Café em grão 1 kg", "quantity": 2, "unitPrice": "18.50", "sku": "CAF-1KG"},
        {"name": "Caneca <esmaltada>", "quantity": 1, "unitPrice": "9.90"},
    ]
    total = sum(Decimal(i["unitPrice"]) * i["quantity"] for i in items)
    order: dict[str, Any] = {
        "orderId": order_id or f"it-{uuid.uuid4().hex[:12]}",
        "customerEmail": email,
        "customerName": "Ana Silva",
        "items": items,
        "total": str(total),
        "currency": "EUR",
        "timestamp": "2026-11-23T10:00:00Z",
        "metadata": {"channel": "web"},
    }
    order.update(overrides)
    return order


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    outbox: Path = tmp_path_factory.mktemp("outbox")
    with LocalRuntime(RuntimeOptions(outbox_dir=outbox, time_scale=0.005, max_receive_count=3,
                                     instruments=(ApiCounter(),))) as rt:
        yield rt


@pytest.fixture
def harness(runtime: LocalRuntime) -> Harness:
    return Harness(runtime)


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Any]:
    """Start runtimes with the given RuntimeOptions; each is stopped after the test."""
    started: list[LocalRuntime] = []

    def make(**options: Any) -> LocalRuntime:
        runtime = LocalRuntime(RuntimeOptions(outbox_dir=tmp_path / "outbox", **options))
        runtime.start()
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        runtime.stop()
