"""The ledger adapter and the feedback handler against moto's DynamoDB."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tasks import clock
from tasks.adapters.ledger import FeedbackOutcome, Ledger, LedgerConflict, serialize_item
from tasks.domain.ledger_view import request_body
from tasks.domain.ses_events import parse_ses_record
from tasks.feedback import FeedbackRetry, handler
from tests.unit.helpers import TABLE_NAME, sent_item, ses_record, sns_event, sqs_sns_event

NOW = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)


def put(client: Any, item: dict[str, Any]) -> None:
    client.put_item(TableName=TABLE_NAME, Item=serialize_item(item))


def read(client: Any, order_id: str = "ORD-1001") -> dict[str, Any]:
    item = Ledger(TABLE_NAME, client=client).get(order_id)
    assert item is not None
    return item


def record(fixture: str, *, order_id: str | None = "ORD-1001", message_id: str = "ses-msg-1", **changes: Any) -> dict[str, Any]:
    return ses_record(fixture, message_id=message_id, order_id=order_id, **changes)


def metrics_in(output: str) -> dict[str, list[float]]:
    """Metric name → values, from the EMF lines the handler printed."""
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(values if isinstance(values, list) else [values])
    return found


# --- adapter -----------------------------------------------------------------------------------


def test_get(ledger_client: Any) -> None:
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    item = ledger.get("ORD-1001")
    assert item is not None and item["status"] == "SENT" and item["version"] == Decimal(2)
    assert item["timeline"][0]["type"] == "ATTEMPT_STARTED"
    assert ledger.get("nope") is None


def test_client_is_built_lazily(ledger_client: Any) -> None:
    ledger = Ledger(TABLE_NAME)
    assert ledger._client is None
    assert ledger.get("nope") is None
    assert ledger._client is not None


def test_apply_feedback_with_optimistic_locking(ledger_client: Any) -> None:
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    result = ledger.apply_feedback(parse_ses_record(record("eventpub-delivery.json")), now="2024-05-01T10:05:00Z")
    assert result.outcome is FeedbackOutcome.APPLIED and result.order_id == "ORD-1001"
    item = read(ledger_client)
    assert item["status"] == "DELIVERED"
    assert item["version"] == 3
    assert item["updatedAt"] == "2024-05-01T10:05:00Z"
    assert item["events"] == [{"type": "Delivery", "at": "2016-10-19T23:21:04.133Z", "mail": 1}]
    assert item["eventKeys"] == {result.changes["eventKeys"].pop()}
    assert "listedStatus" not in item  # DELIVERED stays out of the sparse index
    assert item["timeline"] == sent_item()["timeline"]  # the workflow's entries are untouched


def test_lost_race_is_retried_from_the_new_version(ledger_client: Any) -> None:
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    real_get = ledger.get
    calls = {"n": 0}

    reads: list[bool] = []

    def get_then_someone_writes(order_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        item = real_get(order_id, consistent=consistent)
        reads.append(consistent)
        calls["n"] += 1
        if calls["n"] == 1:  # another writer (the state machine, another feedback) bumps the version
            ledger_client.update_item(
                TableName=TABLE_NAME,
                Key={"orderId": {"S": order_id}},
                UpdateExpression="SET duplicateCount = :one ADD version :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        return item

    ledger.get = get_then_someone_writes  # type: ignore[method-assign]
    result = ledger.apply_feedback(parse_ses_record(record("eventpub-bounce-permanent.json")), now="2024-05-01T10:05:00Z")
    assert result.outcome is FeedbackOutcome.APPLIED
    item = read(ledger_client)
    assert item["status"] == "BOUNCED" and item["duplicateCount"] == 1 and item["version"] == 4
    assert calls["n"] == 2
    # The first read is eventually consistent (half a read unit); after a lost race, consistent.
    assert reads == [False, True]


def test_a_race_lost_every_time_raises(ledger_client: Any) -> None:
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    stale = ledger.get("ORD-1001")
    ledger.get = lambda order_id, consistent=True: {**stale, "version": Decimal(1)}  # type: ignore[method-assign, assignment, misc]
    with pytest.raises(LedgerConflict):
        ledger.apply_feedback(parse_ses_record(record("eventpub-delivery.json")), now="2024-05-01T10:05:00Z")


def test_item_without_version_is_written_once(ledger_client: Any) -> None:
    item = sent_item()
    del item["version"]
    put(ledger_client, item)
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    assert ledger.apply_feedback(parse_ses_record(record("eventpub-send.json")), now="t").outcome is FeedbackOutcome.APPLIED
    assert read(ledger_client)["version"] == 1


def test_unknown_order_and_the_header_when_there_is_no_tag(ledger_client: Any) -> None:
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    by_header = parse_ses_record(record("eventpub-delivery.json", order_id=None, header_order_id="ORD-1001"))
    assert ledger.apply_feedback(by_header, now="t").order_id == "ORD-1001"
    untagged = parse_ses_record(record("eventpub-open.json", order_id=None))
    assert ledger.apply_feedback(untagged, now="t").outcome is FeedbackOutcome.UNKNOWN_ORDER
    nowhere = parse_ses_record(record("eventpub-delivery.json", order_id="ORD-GONE", message_id="ses-unknown"))
    assert ledger.apply_feedback(nowhere, now="t").outcome is FeedbackOutcome.UNKNOWN_ORDER


def test_a_listed_status_is_indexed_and_leaves_the_index_when_it_moves_on(ledger_client: Any) -> None:
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    ledger.apply_feedback(parse_ses_record(record("eventpub-deliverydelay.json")), now="2024-05-01T10:05:00.000Z")
    assert read(ledger_client)["listedStatus"] == "DELAYED"
    assert [i["orderId"] for i in ledger.recent_by_status("DELAYED", "2024-01-01T00:00:00Z", 10)] == ["ORD-1001"]
    ledger.apply_feedback(parse_ses_record(record("eventpub-delivery.json")), now="2024-05-01T10:06:00.000Z")
    item = read(ledger_client)
    assert item["status"] == "DELIVERED" and "listedStatus" not in item
    assert ledger.recent_by_status("DELAYED", "2024-01-01T00:00:00Z", 10) == []


def test_recent_by_status(ledger_client: Any) -> None:
    for index in range(5):
        put(ledger_client, sent_item(f"ORD-{index}", f"ses-{index}", status="FAILED", listedStatus="FAILED",
                                     updatedAt=f"2024-05-0{index + 1}T00:00:00Z", lastError="SesV2.MessageRejectedException"))
    put(ledger_client, sent_item("ORD-OK", "ses-ok", updatedAt="2024-05-05T00:00:00Z"))
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    recent = ledger.recent_by_status("FAILED", "2024-05-02T00:00:00Z", 3)
    assert [item["orderId"] for item in recent] == ["ORD-4", "ORD-3", "ORD-2"]
    assert recent[0]["request"]  # full items unless a projection is asked for
    projected = ledger.recent_by_status("FAILED", "2024-05-01T00:00:00Z", 50, projection=["lastError"])
    assert len(projected) == 5
    assert set(projected[0]) == {"orderId", "status", "lastError"}
    assert ledger.recent_by_status("DELIVERED", "2024-01-01T00:00:00Z", 10) == []


# --- feedback handler --------------------------------------------------------------------------


def test_delivery_after_send_gives_delivered(ledger_client: Any, lambda_context: Any) -> None:
    put(ledger_client, sent_item())
    summary = handler(sns_event(record("eventpub-send.json"), record("eventpub-delivery.json")), lambda_context)
    assert summary == {"applied": 2}
    item = read(ledger_client)
    assert item["status"] == "DELIVERED"
    assert [entry["type"] for entry in item["events"]] == ["Send", "Delivery"]
    assert item["updatedAt"] == "2024-05-01T10:05:00.000Z"  # the state machine's format: compared as strings


def test_duplicates_are_recorded_once(ledger_client: Any, lambda_context: Any) -> None:
    put(ledger_client, sent_item())
    delivery = record("eventpub-delivery.json")
    handler(sns_event(delivery), lambda_context)
    version = read(ledger_client)["version"]
    assert handler(sns_event(delivery, delivery), lambda_context) == {"duplicate": 2}
    item = read(ledger_client)
    assert len(item["events"]) == 1 and item["version"] == version


def test_reversed_order_gives_the_same_final_status(ledger_client: Any, lambda_context: Any) -> None:
    events = [
        record("eventpub-send.json"),
        record("eventpub-deliverydelay.json"),
        record("eventpub-delivery.json"),
        record("eventpub-complaint-with-feedback.json"),
        record("eventpub-open.json"),
    ]
    put(ledger_client, sent_item("ORD-A"))
    put(ledger_client, sent_item("ORD-B", "ses-msg-2"))
    handler(sns_event(*[{**e, "mail": {**e["mail"], "tags": {"orderId": ["ORD-A"]}}} for e in events]), lambda_context)
    reversed_events = [
        {**e, "mail": {**e["mail"], "messageId": "ses-msg-2", "tags": {"orderId": ["ORD-B"]}}} for e in reversed(events)
    ]
    handler(sns_event(*reversed_events), lambda_context)
    first, second = read(ledger_client, "ORD-A"), read(ledger_client, "ORD-B")
    assert first["status"] == second["status"] == "COMPLAINED"
    assert sorted(e["type"] for e in first["events"]) == sorted(e["type"] for e in second["events"])
    assert sorted((e["type"], e["at"]) for e in first["events"]) == sorted((e["type"], e["at"]) for e in second["events"])


def test_old_notification_format_finds_the_order_by_its_header(ledger_client: Any, lambda_context: Any) -> None:
    """Identity notifications carry no tags; with headers included they carry X-OrderMail-Order-Id."""
    message_id = "NOTIF0000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000"
    put(ledger_client, sent_item(ses_message_id=message_id))
    for name in ("notification-delivery.json", "notification-bounce.json", "notification-complaint.json"):
        handler(sqs_sns_event(ses_record(name, header_order_id="ORD-1001")), lambda_context)
    item = read(ledger_client)
    assert item["status"] == "COMPLAINED"
    assert [entry["type"] for entry in item["events"]] == ["Delivery", "Bounce", "Complaint"]


def test_unknown_message_is_counted_not_raised(
    ledger_client: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = handler(sns_event(record("eventpub-delivery.json", order_id=None, message_id="never-sent")), lambda_context)
    assert summary == {"unknown_order": 1}
    assert metrics_in(capsys.readouterr().out) == {"UnknownMessage": [1.0]}


def test_malformed_record_does_not_block_the_others(
    ledger_client: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str], captured_logs: io.StringIO
) -> None:
    put(ledger_client, sent_item())
    broken = record("eventpub-bounce-permanent.json")
    broken["mail"]["messageId"] = 42
    event = sns_event("{truncated", broken, record("eventpub-delivery.json"), ses_record("notification-subscription-succeeded.json"))
    summary = handler(event, lambda_context)
    assert summary == {"malformed": 2, "applied": 1, "ignored": 1}
    assert read(ledger_client)["status"] == "DELIVERED"
    emitted = metrics_in(capsys.readouterr().out)
    assert emitted["MalformedRecord"] == [1.0, 1.0]
    assert emitted["Deliveries"] == [1.0]
    assert "malformed feedback record skipped" in captured_logs.getvalue()


def test_metrics_for_applied_events(ledger_client: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]) -> None:
    order = {**json.loads(request_body(sent_item()) or ""), "timestamp": "2016-10-19T23:20:00.000Z"}
    put(ledger_client, sent_item(request=json.dumps(order)))  # a string: items written before compression
    handler(
        sns_event(
            record("eventpub-send.json"),
            record("eventpub-delivery.json"),
            record("eventpub-bounce-permanent.json"),
            record("eventpub-complaint-with-feedback.json"),
            record("eventpub-reject.json"),
            record("eventpub-deliverydelay.json"),
        ),
        lambda_context,
    )
    emitted = metrics_in(capsys.readouterr().out)
    for name in ("Deliveries", "Bounces", "Complaints", "Rejects", "DeliveryDelays"):
        assert emitted[name] == [1.0], name
    assert "Sends" not in emitted  # a Send event (if one is ever enabled) is applied, not counted
    assert emitted["DeliveryLatency"] == [11893.0]  # 23:20:52.240 → 23:21:04.133
    assert emitted["OrderToDeliveryLatency"] == [64133.0]  # 23:20:00.000 → 23:21:04.133


def test_transient_failure_is_raised_after_the_other_records(
    ledger_client: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(ledger_client, sent_item("ORD-1"))
    put(ledger_client, sent_item("ORD-2", "ses-msg-2"))
    original = Ledger.apply_feedback

    def throttled_for_ord_1(self: Ledger, event: Any, *, now: str, retention: Any = None) -> Any:
        if event.order_id == "ORD-1":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem")
        return original(self, event, now=now, retention=retention)

    monkeypatch.setattr(Ledger, "apply_feedback", throttled_for_ord_1)
    event = sns_event(record("eventpub-delivery.json", order_id="ORD-1"), record("eventpub-delivery.json", order_id="ORD-2", message_id="ses-msg-2"))
    with pytest.raises(FeedbackRetry, match="Records\\[0\\]"):
        handler(event, lambda_context)
    assert read(ledger_client, "ORD-2")["status"] == "DELIVERED"
    assert read(ledger_client, "ORD-1")["status"] == "SENT"
    # the retry (SNS/Lambda async) applies the rest; the already-applied record is a duplicate
    monkeypatch.setattr(Ledger, "apply_feedback", original)
    assert handler(event, lambda_context) == {"applied": 1, "duplicate": 1}
    assert read(ledger_client, "ORD-1")["status"] == "DELIVERED"


def test_feedback_logs_never_hold_the_recipient(ledger_client: Any, lambda_context: Any, captured_logs: io.StringIO) -> None:
    put(ledger_client, sent_item())
    handler(sns_event(record("eventpub-bounce-permanent.json")), lambda_context)
    logs = captured_logs.getvalue()
    assert "feedback applied" in logs and '"orderId":"ORD-1001"' in logs
    assert "recipient@example.com" not in logs and "user unknown" not in logs


def test_an_item_an_eventually_consistent_read_misses_is_read_again_consistently(ledger_client: Any) -> None:
    """A stale read must not turn an event into UNKNOWN_ORDER (it would be dropped, not retried)."""
    put(ledger_client, sent_item())
    ledger = Ledger(TABLE_NAME, client=ledger_client)
    real_get = ledger.get
    ledger.get = lambda order_id, consistent=True: real_get(order_id) if consistent else None  # type: ignore[method-assign]
    result = ledger.apply_feedback(parse_ses_record(record("eventpub-delivery.json")), now="2024-05-01T10:05:00Z")
    assert result.outcome is FeedbackOutcome.APPLIED and read(ledger_client)["status"] == "DELIVERED"
