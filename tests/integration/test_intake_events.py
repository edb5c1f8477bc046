"""Issue 11: PutEvents on the orders bus → rule → orders queue (body: the event's detail) → the same
Pipe and workflow as an SNS order."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ordermail.emulator import LocalRuntime

from .conftest import Harness, make_order


def put_order(runtime: LocalRuntime, order: dict[str, Any] | str, *, detail_type: str = "OrderConfirmed") -> None:
    detail = order if isinstance(order, str) else json.dumps(order)
    response = runtime.client("events").put_events(Entries=[{
        "EventBusName": runtime.outputs["OrdersEventBusName"], "Source": "com.example.shop",
        "DetailType": detail_type, "Detail": detail,
    }])
    assert response["FailedEntryCount"] == 0


def test_an_order_event_is_delivered(harness: Harness, runtime: LocalRuntime) -> None:
    assert runtime.outputs["OrdersEventBusName"] == "ordermail-dev"
    order = make_order()
    put_order(runtime, order)
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None and item["status"] == "DELIVERED"
    assert len(harness.mails_for(order["orderId"])) == 1
    # The detail itself reached Unwrap, not the envelope: the stored request is the order as published.
    assert json.loads(harness.request(order["orderId"])) == order
    assert harness.view(order["orderId"])["recipient"] == order["customerEmail"]


def test_an_invalid_order_event_is_invalid_with_its_reason(harness: Harness, runtime: LocalRuntime) -> None:
    order = make_order(total="999.99")
    put_order(runtime, order)
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None
    assert (item["status"], item["invalidReason"]) == ("INVALID", "total_mismatch")  # as over SNS


def test_other_detail_types_are_not_orders(harness: Harness, runtime: LocalRuntime) -> None:
    order = make_order()
    put_order(runtime, order, detail_type="OrderShipped")
    harness.settle()
    assert harness.item(order["orderId"]) is None
    assert harness.mails_for(order["orderId"]) == []


def test_the_queue_body_is_exactly_the_detail(runtime: LocalRuntime) -> None:
    """What the Pipe hands the state machine: the same body raw SNS delivery leaves (no envelope)."""
    from moto.sqs import sqs_backends

    captured: list[str] = []
    order = {"orderId": f"shape-{uuid.uuid4().hex[:8]}", "x": [1, "é"]}
    backend = sqs_backends["123456789012"]["us-east-1"]
    original = backend.send_message

    def spy(queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        if queue_name == runtime.names["orders_queue"]:
            captured.append(message_body)
        return original(queue_name, message_body, *args, **kwargs)

    backend.send_message = spy  # type: ignore[method-assign]
    try:
        put_order(runtime, order)
    finally:
        del backend.send_message
    assert [json.loads(body) for body in captured] == [order]
