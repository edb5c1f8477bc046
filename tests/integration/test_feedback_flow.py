"""SES feedback through SNS into the ledger: simulator outcomes, duplicates and reversed order."""

from __future__ import annotations

import json
import uuid

from ordermail.emulator.ses_events import events_for
from tasks import names

from .conftest import Harness, make_order


def _simulator(local: str) -> str:
    return f"{local}@{names.SES_SIMULATOR_DOMAIN}"


def test_simulator_bounce_ends_bounced_with_the_bounce_details(harness: Harness) -> None:
    order = make_order(email=_simulator("bounce"))
    harness.publish(order)
    harness.settle()

    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "BOUNCED"
    bounce = next(e for e in item["events"] if e["type"] == "Bounce")
    assert bounce["bounceType"] == "Permanent"
    assert bounce["bounceSubType"] == "General"
    assert "5.1.1" in bounce["diagnosticCode"]


def test_simulator_complaint_ends_complained(harness: Harness) -> None:
    order = make_order(email=_simulator("complaint"))
    harness.publish(order)
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "COMPLAINED"
    assert {"Delivery", "Complaint"} <= set(harness.event_types(order["orderId"]))
    complaint = next(e for e in item["events"] if e["type"] == "Complaint")
    assert complaint["complaintFeedbackType"] == "abuse"


def test_simulator_suppression_list_ends_suppressed(harness: Harness) -> None:
    order = make_order(email=_simulator("suppressionlist"))
    harness.publish(order)
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "SUPPRESSED"


def test_duplicate_and_reversed_events_give_the_same_final_status(harness: Harness) -> None:
    order = make_order(email=_simulator("complaint"))
    harness.publish(order)
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None
    events_before = len(item["events"])

    # Redeliver every event SES produced, newest first, twice: SNS is at-least-once and unordered.
    request = {
        "FromEmailAddress": "no-reply@shop.example",
        "Destination": {"ToAddresses": [_simulator("complaint")]},
        "Content": {"Simple": {"Subject": {"Data": "x"}}},
        "ConfigurationSetName": harness.runtime.names["configuration_set"],
        "EmailTags": [{"Name": names.SES_TAG_ORDER_ID, "Value": order["orderId"]}],
    }
    stored = {e["type"]: e for e in item["events"]}
    records = [record for _, record in events_for(harness.view(order["orderId"])["sesMessageId"], request, region="us-east-1")]
    # Re-use the recorded event times so the redelivered events are the same events.
    for record in records:
        if record["eventType"] == "Delivery":
            record["delivery"]["timestamp"] = stored["Delivery"]["at"]
    for record in reversed(records + records):
        harness.sns.publish(TopicArn=harness.outputs["SesEventsTopicArn"], Message=json.dumps(record))
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "COMPLAINED"
    types = [e["type"] for e in item["events"]]
    assert types.count("Delivery") == 1
    # The replayed complaint has a new feedbackId: SES would not re-send the same complaint with
    # another id, so it counts as a second complaint event, and the status stays COMPLAINED.
    assert len(item["events"]) <= events_before + 1


def test_delivery_delay_after_delivery_keeps_delivered(harness: Harness) -> None:
    order = make_order()
    harness.publish(order)
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None and item["status"] == "DELIVERED"

    delay = {
        "eventType": "DeliveryDelay",
        "mail": {
            "timestamp": "2026-11-23T10:00:00.000Z",
            "messageId": harness.view(order["orderId"])["sesMessageId"],
            "source": "no-reply@shop.example",
            "destination": [item["deliverTo"]],
            "tags": {names.SES_TAG_ORDER_ID: [order["orderId"]]},
        },
        "deliveryDelay": {
            "timestamp": "2026-11-23T10:05:00.000Z",
            "delayType": "TransientCommunicationFailure",
            "expirationTime": "2026-11-24T10:00:00.000Z",
            "delayedRecipients": [{"emailAddress": item["deliverTo"], "status": "4.4.1",
                                   "diagnosticCode": "smtp; 421 4.4.1 Unable to connect"}],
        },
    }
    harness.sns.publish(TopicArn=harness.outputs["SesEventsTopicArn"], Message=json.dumps(delay))
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "DELIVERED"
    assert "DeliveryDelay" in harness.event_types(order["orderId"])


def test_event_for_an_unknown_message_is_absorbed(harness: Harness) -> None:
    record = {
        "eventType": "Delivery",
        "mail": {"timestamp": "2026-11-23T10:00:00.000Z", "messageId": f"unknown-{uuid.uuid4()}",
                 "source": "no-reply@shop.example", "destination": ["x@example.com"], "tags": {}},
        "delivery": {"timestamp": "2026-11-23T10:00:01.000Z", "recipients": ["x@example.com"],
                     "processingTimeMillis": 1, "smtpResponse": "250 ok"},
    }
    harness.sns.publish(TopicArn=harness.outputs["SesEventsTopicArn"], Message=json.dumps(record))
    harness.sns.publish(TopicArn=harness.outputs["SesEventsTopicArn"], Message="{not json")
    harness.settle()
    # Nothing to assert in the ledger: the point is that nothing raised or looped.
    assert harness.item(record["mail"]["messageId"]) is None


# --- SNS invokes the feedback function asynchronously: Lambda retries twice, then the DLQ ------------


def test_a_failed_feedback_invocation_is_retried_as_lambda_retries_async_invokes(harness: Harness) -> None:
    runtime = harness.runtime
    before = runtime.stats()["async_retries"]
    # The Delivery event's first two attempts fail (say DynamoDB throttled past the SDK's retries).
    runtime.inject(runtime.names["feedback_function"], RuntimeError("throttled"), RuntimeError("throttled"))
    order = make_order()
    harness.publish(order)
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "DELIVERED"
    assert [e["type"] for e in item["events"]] == ["Delivery"]
    after = runtime.stats()["async_retries"]
    assert after["retried"] - before["retried"] == 2
    assert after["recovered"] - before["recovered"] == 1
    assert after["dead_lettered"] == before["dead_lettered"]


def test_feedback_that_fails_every_attempt_ends_in_its_dlq_with_the_error(harness: Harness) -> None:
    runtime = harness.runtime
    sqs = runtime.client("sqs")
    dlq = sqs.get_queue_url(QueueName=runtime.names["feedback_dlq"])["QueueUrl"]
    runtime.inject(runtime.names["feedback_function"], *(RuntimeError("ledger unavailable") for _ in range(3)))
    order = make_order()
    harness.publish(order)
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "SENT"  # the event is not applied, but not lost either: it waits in the DLQ
    received = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    messages = received.get("Messages", [])
    assert len(messages) == 1
    event = json.loads(messages[0]["Body"])
    record = json.loads(event["Records"][0]["Sns"]["Message"])
    assert record["eventType"] == "Delivery"
    assert record["mail"]["tags"][names.SES_TAG_ORDER_ID] == [order["orderId"]]
    attributes = messages[0]["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "ledger unavailable"
    assert attributes["ErrorCode"]["StringValue"] == "200"
    for message in messages:
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
