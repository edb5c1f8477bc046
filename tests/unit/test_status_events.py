"""The status events' filter (the Pipe's, evaluated here by moto's EventBridge matcher, which the
local runtime uses too) and detail builder (tasks/status_events.py) on sample stream records."""

from __future__ import annotations

from typing import Any

import pytest
from moto.events.models import EventPattern

from tasks import status_events
from workflow import status_events_spec as spec

PATTERN = EventPattern.load(spec.filter_pattern())


def _image(status: str, **extra: Any) -> dict[str, Any]:
    return {"orderId": {"S": "o-1"}, "status": {"S": status}, "updatedAt": {"S": "2026-12-05T10:00:00Z"},
            "deliverTo": {"S": "ana@example.com"}, "request": {"B": "eJzLSM3JyVcozy/KSQEAGgQEXQ=="}, **extra}


def _record(event: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
    stream: dict[str, Any] = {"Keys": {"orderId": {"S": "o-1"}}}
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    return {"eventName": event, "dynamodb": stream}


@pytest.mark.parametrize(
    ("record", "passes"),
    [
        (_record("MODIFY", _image("SENT"), _image("PROCESSING")), True),
        (_record("MODIFY", _image("DELIVERED"), _image("SENT")), True),
        (_record("MODIFY", _image("FAILED"), _image("PROCESSING")), True),
        (_record("MODIFY", _image("INVALID"), _image("FAILED")), True),
        (_record("MODIFY", _image("DELIVERED"), _image("DELIVERED")), False),  # an Open, a duplicate counter
        (_record("MODIFY", _image("PROCESSING"), _image("FAILED")), False),  # a new attempt's claim
        (_record("INSERT", _image("PROCESSING"), None), False),
        (_record("INSERT", _image("INVALID"), None), True),  # born invalid
        (_record("REMOVE", None, _image("DELIVERED")), False),  # TTL expiry
    ],
)
def test_the_filter_passes_exactly_the_status_changes(record: dict[str, Any], passes: bool) -> None:
    assert PATTERN.matches_event(record) is passes
    # The function applies the same rule: a record the filter would drop gives no detail.
    assert (status_events.detail(record) is not None) is passes


def test_every_outcome_status_and_no_other_is_in_the_filter() -> None:
    for status in spec.EVENT_STATUSES:
        assert PATTERN.matches_event(_record("MODIFY", _image(status), _image("PROCESSING")))
    assert "PROCESSING" not in spec.EVENT_STATUSES and len(spec.EVENT_STATUSES) == 9


def test_sent_carries_the_last_attempts_message_id_and_nothing_personal() -> None:
    timeline = {"L": [
        {"M": {"type": {"S": "ATTEMPT_SENT"}, "at": {"S": "t1"}, "sesMessageId": {"S": "m-1"}}},
        {"M": {"type": {"S": "RESEND"}, "at": {"S": "t2"}, "by": {"S": "ops"}}},
        {"M": {"type": {"S": "ATTEMPT_SENT"}, "at": {"S": "t3"}, "sesMessageId": {"S": "m-2"}}},
    ]}
    detail = status_events.detail(_record("MODIFY", _image("SENT", timeline=timeline), _image("PROCESSING")))
    assert detail == {"orderId": "o-1", "status": "SENT", "previousStatus": "PROCESSING",
                      "at": "2026-12-05T10:00:00Z", "sesMessageId": "m-2"}


def test_a_bounce_carries_the_last_bounces_type_and_subtype() -> None:
    events = {"L": [
        {"M": {"type": {"S": "Delivery"}, "at": {"S": "t1"}, "mail": {"N": "1"}}},
        {"M": {"type": {"S": "Bounce"}, "at": {"S": "t2"}, "bounceType": {"S": "Permanent"},
               "bounceSubType": {"S": "NoEmail"}, "diagnosticCode": {"S": "smtp; 550 ana@example.com"}}},
    ]}
    detail = status_events.detail(_record("MODIFY", _image("BOUNCED", events=events), _image("DELIVERED")))
    assert detail is not None
    assert (detail["bounceType"], detail["bounceSubType"]) == ("Permanent", "NoEmail")
    assert "diagnosticCode" not in detail and "ana@" not in str(detail)


def test_invalid_and_failed_carry_their_reason_codes_not_the_messages() -> None:
    invalid = _image("INVALID", invalidReason={"S": "missing_field"}, invalidMessage={"S": "customerEmail: x@y"})
    detail = status_events.detail(_record("INSERT", invalid, None))
    assert detail == {"orderId": "o-1", "status": "INVALID", "previousStatus": None,
                      "at": "2026-12-05T10:00:00Z", "reason": "missing_field"}
    failed = _image("FAILED", lastError={"S": "SesV2.MessageRejectedException"}, lastCause={"S": "ana@example.com"})
    detail = status_events.detail(_record("MODIFY", failed, _image("PROCESSING")))
    assert detail is not None and detail["reason"] == "SesV2.MessageRejectedException"
    assert "ana@" not in str(detail)


def test_the_handler_takes_a_batch_and_returns_one_detail_per_change() -> None:
    batch = [
        _record("MODIFY", _image("SENT"), _image("PROCESSING")),
        _record("MODIFY", _image("SENT"), _image("SENT")),
        _record("MODIFY", _image("DELIVERED"), _image("SENT")),
    ]
    assert [d["status"] for d in status_events.handler(batch, None)] == ["SENT", "DELIVERED"]
    assert status_events.handler([], None) == []
