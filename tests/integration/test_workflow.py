"""The workflow's semantics, executing asl/order_email.asl.json on moto with the real handlers.

Every test asserts on the mails SES accepted (the runtime's SES hook) and on the ledger, never only
on an execution's status.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from ordermail.emulator.seams.faults import LambdaServiceFault, SesRejected, SesThrottled
from tasks import names

from .conftest import Harness, make_order


def test_happy_path_sends_one_mail_and_records_sent_then_delivered(harness: Harness) -> None:
    order = make_order()
    harness.publish(order)
    harness.settle()

    mails = harness.mails_for(order["orderId"])
    assert len(mails) == 1
    assert mails[0].recipients == [f"success@{names.SES_SIMULATOR_DOMAIN}"]  # dev: sandbox guard
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "DELIVERED"
    assert harness.view(order["orderId"])["sesMessageId"] == mails[0].message_id
    assert "recipient" not in item  # derived from the stored request (docs/LEDGER.md)
    # Delivered: kept deliveredRetentionDays (30) from the Delivery, not retentionDays (90) from the claim.
    assert abs(int(item["expiresAt"]) - (time.time() + 30 * 86_400)) < 600
    assert harness.view(order["orderId"])["recipient"] == "ana.silva@example.com"
    assert item["attemptCount"] == 1
    # A loaded machine can outlast the scaled visibility timeout (1.8 s here): SQS then hands the
    # message over again, and that copy is recorded as a DUPLICATE, nothing more. That is the design.
    attempts = [entry for entry in item["timeline"] if entry["type"] != "DUPLICATE"]
    assert [entry["type"] for entry in attempts] == ["ATTEMPT_STARTED", "ATTEMPT_SENT"]
    assert item.get("duplicateCount", 0) == len(item["timeline"]) - 2
    assert harness.event_types(order["orderId"]) == ["Delivery"]  # no Send events: names.SES_EVENT_TYPES
    started, sent = attempts
    assert started["execution"] == sent["execution"] and sent["sesMessageId"] == mails[0].message_id
    assert "claimToken" not in item and "executionArn" not in sent  # the claim is let go once SENT
    assert "listedStatus" not in item  # the normal path writes no index entry
    assert harness.event_types(order["orderId"]) == ["Delivery"] and item["events"][0]["mail"] == 1
    # $$.State.EnteredTime as AWS writes it (moto's own format differs; seams/stepfunctions.py)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sent["at"]), sent["at"]


def test_same_order_published_twice_sequentially_sends_one_mail(harness: Harness) -> None:
    order = make_order()
    harness.publish(order)
    harness.settle()
    harness.publish(order)
    harness.settle()

    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["duplicateCount"] == 1
    assert "payloadConflict" not in item
    assert harness.timeline_types(order["orderId"]).count("DUPLICATE") == 1


def test_same_order_published_concurrently_sends_one_mail(harness: Harness) -> None:
    order = make_order()
    for _ in range(4):
        harness.publish(order)
    harness.settle(timeout=90)

    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] in ("SENT", "DELIVERED")
    assert item["attemptCount"] == 1
    assert item["duplicateCount"] == 3


def test_duplicate_with_a_different_payload_is_flagged_not_sent(harness: Harness) -> None:
    order = make_order()
    harness.publish(order)
    harness.settle()
    harness.publish({**order, "customerName": "Someone Else"})
    harness.settle()

    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["payloadConflict"] is True
    assert "DUPLICATE_CONFLICT" in harness.timeline_types(order["orderId"])


def test_message_rejected_is_failed_without_retry_and_a_replay_sends_once(harness: Harness) -> None:
    order = make_order()
    calls_before = harness.send_email_calls()
    harness.runtime.inject("ses", SesRejected("Email address is on a blocklist"))
    harness.publish(order)
    harness.settle()

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "FAILED"
    assert item["lastError"] == "SesV2.MessageRejectedException"
    assert harness.send_email_calls() - calls_before == 1  # no Retry on a permanent refusal
    assert harness.mails_for(order["orderId"]) == []
    failed = [e for e in item["timeline"] if e["type"] == "ATTEMPT_FAILED"]
    assert failed and failed[0]["retryable"] is False
    # A failed attempt keeps its execution ARN: its ERROR-level log is the one an operator looks up.
    assert failed[0]["executionArn"].endswith(failed[0]["execution"] + ":" + failed[0]["executionArn"].rsplit(":", 1)[1])
    assert item["listedStatus"] == "FAILED"  # in the sparse index, so `status --status FAILED` finds it
    assert json.dumps(order) not in harness.dlq_bodies()  # consumed: an operator replays it

    # Replay: the stored request goes back on the queue; FAILED is re-claimable.
    harness.enqueue(harness.request(order["orderId"]), **{names.REPLAY_ATTRIBUTE: "true"})
    harness.settle()
    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] in ("SENT", "DELIVERED")
    assert item["attemptCount"] == 2
    assert "lastError" not in item and "listedStatus" not in item  # the claim took it out of the index

    # Replaying again once it is sent is a duplicate, not a second mail.
    harness.enqueue(harness.request(order["orderId"]))
    harness.settle()
    assert len(harness.mails_for(order["orderId"])) == 1


def test_throttling_twice_then_success_sends_one_mail(harness: Harness) -> None:
    order = make_order()
    calls_before = harness.send_email_calls()
    harness.runtime.inject("ses", SesThrottled(), SesThrottled())
    harness.publish(order)
    harness.settle()

    assert len(harness.mails_for(order["orderId"])) == 1
    assert harness.send_email_calls() - calls_before == 3  # two throttled + one accepted, in one execution
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] in ("SENT", "DELIVERED")
    assert item["attemptCount"] == 1


def test_a_spent_daily_quota_requeues_the_order_and_sends_it_once_the_quota_allows(harness: Harness) -> None:
    """No FAILED and no step toward the DLQ: the claim is given back, the order goes back on the queue as
    a new message (receive count 1 again), and the next attempt sends it."""
    from ordermail.emulator.seams.faults import _ServiceFault

    order = make_order()
    calls_before = harness.send_email_calls()
    harness.runtime.inject("ses", _ServiceFault("LimitExceededException", "Daily message quota exceeded."))
    harness.publish(order)
    harness.settle(timeout=60)

    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] in ("SENT", "DELIVERED")
    assert "lastError" not in item
    assert len(harness.mails_for(order["orderId"])) == 1
    assert harness.send_email_calls() - calls_before == 2  # the refused call, then the one that sent
    types = harness.timeline_types(order["orderId"])
    assert types[:3] == ["ATTEMPT_STARTED", "DEFERRED", "ATTEMPT_STARTED"]
    deferred = next(e for e in item["timeline"] if e["type"] == "DEFERRED")
    assert deferred["reason"] == "ses_daily_quota"
    second_start = [e for e in item["timeline"] if e["type"] == "ATTEMPT_STARTED"][1]
    # A new message: the wait counts nothing toward the DLQ (a loaded machine may redeliver it once).
    assert int(second_start["receiveCount"]) <= 2
    assert harness.runtime.queue_depths()["orders_dlq"] == 0


def test_transient_failure_after_retries_is_redelivered_and_sent_once(harness: Harness) -> None:
    order = make_order()
    # Render fails five times: its four Retry attempts (Lambda.ServiceException) are not enough.
    harness.runtime.inject(harness.runtime.names["render_function"], *[LambdaServiceFault() for _ in range(5)])
    harness.publish(order)
    harness.settle(timeout=90)

    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] in ("SENT", "DELIVERED")
    assert item["attemptCount"] == 2  # the failed attempt, then SQS's redelivery
    types = harness.timeline_types(order["orderId"])
    assert types.count("ATTEMPT_FAILED") == 1
    failed = next(e for e in item["timeline"] if e["type"] == "ATTEMPT_FAILED")
    assert failed["error"] == "Lambda.ServiceException"
    assert failed["retryable"] is True


def test_invalid_json_is_recorded_invalid_and_sends_nothing(harness: Harness) -> None:
    body = '{"orderId": "broken-' + uuid.uuid4().hex[:6] + '", "items": [ not json'
    mails_before = len(harness.runtime.sent_mails())
    harness.publish(body)
    harness.settle()

    assert len(harness.runtime.sent_mails()) == mails_before
    invalid = [
        e for e in harness.runtime.executions() if e.status == "SUCCEEDED"
    ]  # consumed, never retried
    assert invalid
    items = harness.ddb.scan(
        TableName=harness.outputs["LedgerTableName"],
        FilterExpression="#r = :r",
        ExpressionAttributeNames={"#r": "request"},
        ExpressionAttributeValues={":r": {"S": body}},
    )["Items"]
    assert len(items) == 1
    assert items[0]["status"]["S"] == "INVALID"
    assert items[0]["invalidReason"]["S"] == "not_json"
    assert items[0]["orderId"]["S"].startswith("invalid-")


def test_invalid_order_is_recorded_under_its_order_id_with_the_reason(harness: Harness) -> None:
    order = make_order(total="999.99")
    harness.publish(order)
    harness.settle()

    assert harness.mails_for(order["orderId"]) == []
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] == "INVALID"
    assert item["invalidReason"] == "total_mismatch"
    assert "total" in item["invalidMessage"]
    # A corrected order with the same id is then processed.
    fixed = make_order(order["orderId"])
    harness.publish(fixed)
    harness.settle()
    assert len(harness.mails_for(order["orderId"])) == 1


def test_expired_processing_lease_is_reclaimed(harness: Harness) -> None:
    order = make_order()
    stale = int(time.time()) - 5
    harness.ddb.put_item(
        TableName=harness.outputs["LedgerTableName"],
        Item={
            "orderId": {"S": order["orderId"]},
            "status": {"S": "PROCESSING"},
            "leaseUntil": {"N": str(stale)},
            "claimToken": {"S": "arn:aws:states:us-east-1:123456789012:express:crashed:x:y"},
            "attemptCount": {"N": "1"},
            "version": {"N": "1"},
            "updatedAt": {"S": "2026-11-23T09:00:00Z"},
        },
    )
    harness.publish(order)
    harness.settle()

    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None
    assert item["status"] in ("SENT", "DELIVERED")
    assert item["attemptCount"] == 2


def test_a_live_claim_held_elsewhere_is_not_sent_and_not_lost(harness: Harness) -> None:
    order = make_order()
    harness.ddb.put_item(
        TableName=harness.outputs["LedgerTableName"],
        Item={
            "orderId": {"S": order["orderId"]},
            "status": {"S": "PROCESSING"},
            "leaseUntil": {"N": str(int(time.time()) + 3600)},
            "claimToken": {"S": "arn:aws:states:us-east-1:123456789012:express:other:x:y"},
            "version": {"N": "1"},
            "updatedAt": {"S": "2026-11-23T09:00:00Z"},
        },
    )
    harness.publish(order)
    harness.settle(timeout=90)

    assert harness.mails_for(order["orderId"]) == []
    failures = [e for e in harness.runtime.executions() if e.error == "ClaimHeld"]
    assert failures, "the execution must fail so SQS keeps the message"
    # After maxReceiveCount receives the message is in the DLQ: accounted for, never dropped.
    assert any(order["orderId"] in body for body in harness.dlq_bodies())


def test_resend_is_a_deliberate_audited_copy_honoured_once(harness: Harness) -> None:
    order = make_order()
    harness.publish(order)
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None

    attributes = {
        names.RESEND_ID_ATTRIBUTE: str(uuid.uuid4()),
        names.RESEND_BY_ATTRIBUTE: "arn:aws:iam::123456789012:user/operator",
        names.RESEND_REASON_ATTRIBUTE: "customer asked for a copy",
    }
    harness.enqueue(harness.request(order["orderId"]), **attributes)
    harness.enqueue(harness.request(order["orderId"]), **attributes)  # the same resend delivered twice
    harness.settle()

    assert len(harness.mails_for(order["orderId"])) == 2
    item = harness.item(order["orderId"])
    assert item is not None
    resends = [e for e in item["timeline"] if e["type"] == "RESEND"]
    assert len(resends) == 1
    assert resends[0]["by"] == "arn:aws:iam::123456789012:user/operator"
    assert resends[0]["reason"] == "customer asked for a copy"
    assert item["resendCount"] == 1
