"""The public status document built from a ledger item."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tasks.domain.ledger_view import attempts_from_timeline, console_url, json_safe, order_summary, order_view
from tests.unit.helpers import EXECUTION_ARN, sent_item

SECOND_ARN = EXECUTION_ARN.replace("exec-1", "exec-2")
RESEND_ARN = EXECUTION_ARN.replace("exec-1", "exec-3")
STUCK_ARN = EXECUTION_ARN.replace("exec-1", "exec-4")


def rich_item() -> dict[str, Any]:
    """An order that failed once, was retried, sent, delivered, bounced and deliberately re-sent."""
    return sent_item(
        status="PROCESSING",
        attemptCount=Decimal(3),
        duplicateCount=Decimal(1),
        resendCount=Decimal(1),
        payloadConflict=True,
        resendIds={"rs-1"},
        eventKeys={"Delivery:ses-msg-1:x", "Bounce:ses-msg-1:y"},
        timeline=[
            # stored in append order; one entry is out of time order on purpose
            {"type": "ATTEMPT_STARTED", "at": "2024-05-01T10:00:00.000Z", "executionArn": EXECUTION_ARN, "receiveCount": "1"},
            {"type": "ATTEMPT_FAILED", "at": "2024-05-01T10:00:03.000Z", "executionArn": EXECUTION_ARN, "error": "SesV2.TooManyRequestsException", "cause": "Rate exceeded", "retryable": True},
            {"type": "ATTEMPT_STARTED", "at": "2024-05-01T10:06:00.000Z", "executionArn": SECOND_ARN, "receiveCount": "2"},
            {"type": "ATTEMPT_SENT", "at": "2024-05-01T10:06:01.000Z", "executionArn": SECOND_ARN, "sesMessageId": "ses-msg-1"},
            {"type": "DUPLICATE", "at": "2024-05-01T10:07:00.000Z", "executionArn": STUCK_ARN, "payloadHash": "b" * 64, "receiveCount": "1"},
            {"type": "RESEND", "at": "2024-05-02T09:00:00.000Z", "executionArn": RESEND_ARN, "by": "alice", "reason": "lost", "resendId": "rs-1"},
            {"type": "INVALID_REPUBLISH", "at": "2024-05-01T12:00:00.000Z", "executionArn": STUCK_ARN, "reason": "total_mismatch", "message": "total: …"},
        ],
        events=[
            {"type": "Delivery", "at": "2024-05-01T10:06:05.000Z", "key": "Delivery:ses-msg-1:x", "sesMessageId": "ses-msg-1", "receivedAt": "t"},
            {"type": "Bounce", "at": "2024-05-01T10:06:04.000Z", "key": "Bounce:ses-msg-1:y", "sesMessageId": "ses-msg-1", "bounceType": "Transient", "bounceSubType": "MailboxFull", "diagnosticCode": "452 full", "receivedAt": "t"},
        ],
    )


def test_view_is_json_safe_and_has_the_contract_fields() -> None:
    view = order_view(rich_item())
    json.dumps(view)
    for field in ("orderId", "status", "sesMessageId", "recipient", "deliverTo", "createdAt", "updatedAt", "attemptCount", "duplicateCount", "payloadConflict", "lastError", "lastCause", "invalidReason", "invalidMessage", "attempts", "events", "timeline"):
        assert field in view, field
    assert view["attemptCount"] == 3 and view["duplicateCount"] == 1 and view["resendCount"] == 1
    assert view["payloadConflict"] is True
    assert "request" not in view and "claimToken" not in view and "eventKeys" not in view


def test_attempts_join_start_and_end_by_execution() -> None:
    attempts = order_view(rich_item())["attempts"]
    assert [(a["executionArn"], a["outcome"], a["kind"]) for a in attempts] == [
        (EXECUTION_ARN, "FAILED", "ATTEMPT"),
        (SECOND_ARN, "SENT", "ATTEMPT"),
        (RESEND_ARN, "IN_PROGRESS", "RESEND"),
    ]
    failed, sent, resend = attempts
    assert failed["startedAt"] == "2024-05-01T10:00:00.000Z" and failed["endedAt"] == "2024-05-01T10:00:03.000Z"
    assert failed["error"] == "SesV2.TooManyRequestsException" and failed["cause"] == "Rate exceeded"
    assert sent["sesMessageId"] == "ses-msg-1" and sent["error"] is None
    assert resend["by"] == "alice" and resend["reason"] == "lost" and resend["endedAt"] is None


def test_attempt_has_a_console_link() -> None:
    attempt = order_view(rich_item())["attempts"][0]
    assert attempt["consoleUrl"] == (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
        f"#/express-executions/details/{EXECUTION_ARN}?startDate=1714557600000"
    )
    assert console_url("not-an-arn", None) is None


def test_end_without_a_start_is_still_shown() -> None:
    attempts = attempts_from_timeline([{"type": "ATTEMPT_SENT", "at": "t1", "executionArn": EXECUTION_ARN, "sesMessageId": "m"}])
    assert attempts[0]["outcome"] == "SENT" and attempts[0]["startedAt"] is None


def test_events_are_sorted_by_their_own_time_with_details() -> None:
    events = order_view(rich_item())["events"]
    assert [event["type"] for event in events] == ["Bounce", "Delivery"]
    assert events[0] == {
        "type": "Bounce",
        "at": "2024-05-01T10:06:04.000Z",
        "sesMessageId": "ses-msg-1",
        "bounceType": "Transient",
        "bounceSubType": "MailboxFull",
        "diagnosticCode": "452 full",
    }


def test_timeline_is_raw_and_sorted() -> None:
    timeline = order_view(rich_item())["timeline"]
    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)
    assert timeline[-1]["type"] == "RESEND"
    assert timeline[0]["receiveCount"] == "1"


def test_minimal_items() -> None:
    invalid = {"orderId": "invalid-0123", "status": "INVALID", "invalidReason": "not_json", "invalidMessage": "body: …", "invalidCount": Decimal(2), "version": Decimal(2)}
    view = order_view(invalid)
    assert view["attempts"] == [] and view["events"] == [] and view["timeline"] == []
    assert view["invalidReason"] == "not_json" and view["invalidCount"] == 2
    assert view["attemptCount"] == 0 and view["payloadConflict"] is False and view["sesMessageId"] is None


def test_summary_and_json_safe() -> None:
    summary = order_summary(rich_item())
    assert summary["orderId"] == "ORD-1001" and summary["attemptCount"] == 3
    assert "attempts" not in summary
    assert json_safe({"a": Decimal("1.50"), "b": {Decimal(2), Decimal(1)}, "c": [Decimal("3")], "d": b"\x01"}) == {"a": "1.50", "b": [1, 2], "c": [3], "d": "01"}


def compact_item() -> dict[str, Any]:
    """The layout the workflow writes now (docs/LEDGER.md): names not ARNs, derived times not stored,
    events pointing at their mail by number, a compressed request."""
    return sent_item(
        status="BOUNCED",
        listedStatus="BOUNCED",
        resendCount=Decimal(1),
        timeline=[
            {"type": "ATTEMPT_STARTED", "at": "2024-05-01T10:00:00.000Z", "execution": "exec-1", "receiveCount": "1"},
            {"type": "ATTEMPT_FAILED", "at": "2024-05-01T10:00:01.000Z", "execution": "exec-1",
             "executionArn": EXECUTION_ARN, "error": "SesV2.TooManyRequestsException", "cause": "Rate exceeded",
             "retryable": True},
            {"type": "ATTEMPT_STARTED", "at": "2024-05-01T10:00:05.000Z", "execution": "exec-2", "receiveCount": "2"},
            {"type": "ATTEMPT_SENT", "at": "2024-05-01T10:00:06.000Z", "execution": "exec-2", "sesMessageId": "ses-1"},
            {"type": "RESEND", "at": "2024-05-02T09:00:00.000Z", "execution": "exec-3", "by": "ops", "reason": "lost"},
            {"type": "ATTEMPT_SENT", "at": "2024-05-02T09:00:01.000Z", "execution": "exec-3", "sesMessageId": "ses-2"},
        ],
        events=[
            {"type": "Delivery", "at": "2024-05-01T10:00:08.000Z", "mail": Decimal(1)},
            {"type": "Bounce", "at": "2024-05-02T09:00:03.000Z", "mail": Decimal(2), "bounceType": "Permanent"},
            {"type": "Delivery", "at": "2024-05-02T09:00:02.500Z", "sesMessageId": "ses-unrecorded"},
        ],
    )


def test_the_compact_layout_gives_the_same_document() -> None:
    view = order_view(compact_item())
    assert view["createdAt"] == "2024-05-01T10:00:00.000Z"  # the first timeline entry
    assert view["sentAt"] == "2024-05-01T10:00:06.000Z"  # the first ATTEMPT_SENT
    assert view["sesMessageId"] == "ses-2"  # the last mail sent
    assert view["orderTimestamp"] == "2024-05-01T12:00:00+02:00"  # from the compressed request
    assert [(e["type"], e["sesMessageId"]) for e in view["events"]] == [
        ("Delivery", "ses-1"), ("Delivery", "ses-unrecorded"), ("Bounce", "ses-2")]
    failed, sent, resent = view["attempts"]
    assert (failed["outcome"], failed["execution"], failed["executionArn"]) == ("FAILED", "exec-1", EXECUTION_ARN)
    assert failed["consoleUrl"] is not None  # a failed execution's log exists at ERROR level
    assert (sent["outcome"], sent["execution"], sent["executionArn"], sent["consoleUrl"]) == ("SENT", "exec-2", None, None)
    assert (resent["kind"], resent["sesMessageId"], resent["by"]) == ("RESEND", "ses-2", "ops")
    assert "request" not in view and "claimToken" not in view
    json.dumps(view)  # JSON-safe: the binary request never reaches the document
