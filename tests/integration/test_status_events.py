"""Outcomes out (issue 11): with status events on, one OrderEmailStatusChanged event per ledger
status change reaches a rule and SQS target a user adds on the bus; none for duplicate SES events
or a duplicate order delivery; no address or name in any event."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.seams.faults import SesRejected
from tasks import names
from workflow import status_events_spec as spec

from .conftest import Harness, make_order

NAME = "Zélia Quaresma"


def _simulator(local: str) -> str:
    return f"{local}@{names.SES_SIMULATOR_DOMAIN}"


class Watcher:
    """A user's rule on the status bus with an SQS target, and what reached it."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.sqs, events = runtime.client("sqs"), runtime.client("events")
        bus = runtime.outputs["StatusEventBusName"]
        self.url = self.sqs.create_queue(QueueName=f"watch-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"watch-{uuid.uuid4().hex[:8]}"
        rule_arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(
            {"source": [spec.SOURCE], "detail-type": [spec.DETAIL_TYPE]}))["RuleArn"]
        # As on AWS: the queue lets this rule (and only it) send.
        self.sqs.set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        self.received: list[dict[str, Any]] = []
        self.raw: list[str] = []

    def drain(self) -> None:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.raw.append(message["Body"])
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            if not messages:
                time.sleep(0.05)

    def details(self, order_id: str) -> list[dict[str, Any]]:
        self.drain()
        return [e["detail"] for e in self.received if e["detail"]["orderId"] == order_id]

    def transitions(self, order_id: str) -> list[tuple[str | None, str]]:
        return [(d["previousStatus"], d["status"]) for d in self.details(order_id)]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(RuntimeOptions(outbox_dir=tmp_path_factory.mktemp("outbox"), time_scale=0.005,
                                     max_receive_count=3, status_events=True)) as rt:
        yield rt


@pytest.fixture(scope="module")
def watcher(runtime: LocalRuntime) -> Watcher:
    return Watcher(runtime)


def test_sent_then_delivered_one_event_each_with_the_message_id(harness: Harness, watcher: Watcher) -> None:
    order = make_order(email=_simulator("success"))
    harness.publish(order)
    harness.settle()

    view = harness.view(order["orderId"])
    assert view["status"] == "DELIVERED"
    sent, delivered = watcher.details(order["orderId"])
    assert (sent["previousStatus"], sent["status"]) == ("PROCESSING", "SENT")
    assert (delivered["previousStatus"], delivered["status"]) == ("SENT", "DELIVERED")
    assert sent["sesMessageId"] == delivered["sesMessageId"] == view["sesMessageId"]
    assert set(delivered) == {"orderId", "status", "previousStatus", "at", "sesMessageId"}
    assert delivered["at"] == view["updatedAt"]
    event = next(e for e in watcher.received if e["detail"] == delivered)
    assert (event["source"], event["detail-type"]) == ("ordermail", "OrderEmailStatusChanged")


def test_a_bounce_carries_its_type_and_subtype_and_no_address_or_name(harness: Harness, watcher: Watcher) -> None:
    order = make_order(email=_simulator("bounce"), customerName=NAME)
    harness.publish(order)
    harness.settle()

    assert watcher.transitions(order["orderId"]) == [("PROCESSING", "SENT"), ("SENT", "BOUNCED")]
    bounced = watcher.details(order["orderId"])[-1]
    assert bounced["bounceType"] == "Permanent" and bounced["bounceSubType"]
    for secret in (_simulator("bounce"), "bounce@", "Quaresma", "Zélia", "Z\\u00e9lia", "ana.silva"):
        assert all(secret not in raw for raw in watcher.raw)


def test_duplicate_ses_events_and_a_duplicate_order_emit_nothing_more(harness: Harness, watcher: Watcher) -> None:
    order = make_order(email=_simulator("success"))
    harness.publish(order)
    harness.settle()
    assert watcher.transitions(order["orderId"]) == [("PROCESSING", "SENT"), ("SENT", "DELIVERED")]
    view = harness.view(order["orderId"])
    delivery = next(e for e in view["events"] if e["type"] == "Delivery")
    record = {"eventType": "Delivery", "mail": {"messageId": view["sesMessageId"], "timestamp": delivery["at"],
              "tags": {names.SES_TAG_ORDER_ID: [order["orderId"]]}},
              "delivery": {"timestamp": delivery["at"], "recipients": ["x"], "smtpResponse": "250 ok"}}

    for _ in range(3):  # SNS is at least once: the same SES event again, and the order again
        harness.sns.publish(TopicArn=harness.outputs["SesEventsTopicArn"], Message=json.dumps(record))
    harness.publish(order)
    harness.settle()

    assert harness.item(order["orderId"])["duplicateCount"] >= 1  # type: ignore[index]
    assert watcher.transitions(order["orderId"]) == [("PROCESSING", "SENT"), ("SENT", "DELIVERED")]


def test_an_order_born_invalid_is_one_event_with_its_reason(harness: Harness, watcher: Watcher) -> None:
    order = make_order()
    del order["customerEmail"]
    harness.publish(order)
    harness.settle()

    assert harness.item(order["orderId"])["status"] == "INVALID"  # type: ignore[index]
    (detail,) = watcher.details(order["orderId"])
    assert (detail["previousStatus"], detail["status"]) == (None, "INVALID")
    assert detail["reason"] == harness.item(order["orderId"])["invalidReason"]  # type: ignore[index]
    assert detail["reason"]


def test_a_failed_send_is_one_event_with_its_error(harness: Harness, watcher: Watcher) -> None:
    order = make_order()
    harness.runtime.inject("ses", SesRejected("Email address is on a blocklist"))
    harness.publish(order)
    harness.settle()

    (detail,) = watcher.details(order["orderId"])
    assert (detail["previousStatus"], detail["status"]) == ("PROCESSING", "FAILED")
    assert detail["reason"] == "SesV2.MessageRejectedException"
    assert "blocklist" not in json.dumps(detail)  # the cause text is not copied out
