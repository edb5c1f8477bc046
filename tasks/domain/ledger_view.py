"""A ledger item → the public status document (the status API and `ordermail status --json`).

Input: the item as boto3's TypeDeserializer returns it (numbers are Decimal, sets are Python sets).
Output: JSON-safe (integral Decimals → int, others → str; sets → sorted lists), without the stored
request body or the claim token.

The item stores nothing it can derive (docs/LEDGER.md, "Item size"); the view puts it back:
`createdAt` is the first timeline entry, `sentAt` the first `ATTEMPT_SENT`, `sesMessageId` the
last mail sent, `orderTimestamp` the order's own `timestamp`, `recipient` its `customerEmail` as
validation normalizes it. Items written before that layout
hold these attributes, and the stored value wins.

Attempts follow docs/LEDGER.md: an `ATTEMPT_STARTED` or `RESEND` timeline entry joined by
`execution` (the execution's name; `executionArn` in items written before) with the
`ATTEMPT_SENT` / `ATTEMPT_FAILED` entry that ended it; outcome `SENT`, `FAILED` or
`IN_PROGRESS`. Duplicate deliveries are not attempts (nothing was claimed or sent): they stay in
`timeline` and `duplicateCount`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Set
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from tasks.domain.ledger_codec import unpack_request
from tasks.domain.order import normalized_email

EVENT_DETAIL_KEYS: Final = (
    "bounceType",
    "bounceSubType",
    "diagnosticCode",
    "complaintFeedbackType",
    "delayType",
    "reason",
)
SUMMARY_ATTRIBUTES: Final = (
    "orderId",
    "status",
    "sesMessageId",
    "recipient",
    "deliverTo",
    "createdAt",
    "updatedAt",
    "attemptCount",
    "duplicateCount",
    "payloadConflict",
    "lastError",
    "lastCause",
    "invalidReason",
    "invalidMessage",
)
# What a listing reads: the stored summary attributes, plus the timeline the derived ones come from.
SUMMARY_PROJECTION: Final = (*SUMMARY_ATTRIBUTES, "timeline", "request")
_COUNTERS: Final = ("attemptCount", "duplicateCount", "invalidCount", "resendCount")


def json_safe(value: object) -> Any:
    """Plain JSON values from what TypeDeserializer returns."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, Set):
        return sorted(json_safe(item) for item in value)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return value


def _sort_key(entry: Mapping[str, Any]) -> str:
    at = entry.get("at")
    return at if isinstance(at, str) else ""


def _entries(item: Mapping[str, Any], attribute: str) -> list[dict[str, Any]]:
    raw = item.get(attribute)
    if not isinstance(raw, list):
        return []
    # sorted() is stable: entries with the same time keep their append order.
    return sorted((json_safe(entry) for entry in raw if isinstance(entry, Mapping)), key=_sort_key)


def console_url(execution_arn: str, started_at: str | None) -> str | None:
    """The Step Functions console page of an Express execution (it needs the start time)."""
    parts = execution_arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states":
        return None
    region = parts[3]
    url = (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/express-executions/details/{quote(execution_arn, safe=':')}"
    )
    if started_at:
        try:
            started = datetime.fromisoformat(started_at)
        except ValueError:
            return url
        url += f"?startDate={int(started.timestamp() * 1000)}"
    return url


def _new_attempt(execution: object, *, started_at: object, kind: str) -> dict[str, Any]:
    return {
        "execution": execution,
        "executionArn": None,
        "startedAt": started_at,
        "endedAt": None,
        "outcome": "IN_PROGRESS",
        "error": None,
        "cause": None,
        "sesMessageId": None,
        "kind": kind,
        "by": None,
        "reason": None,
        "consoleUrl": None,
    }


def _execution_of(entry: Mapping[str, Any]) -> object:
    return entry.get("execution") or entry.get("executionArn")


def attempts_from_timeline(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = []
    by_execution: dict[str, dict[str, Any]] = {}
    for entry in timeline:
        kind = entry.get("type")
        execution = _execution_of(entry)
        if kind in ("ATTEMPT_STARTED", "RESEND"):
            attempt = _new_attempt(execution, started_at=entry.get("at"), kind="RESEND" if kind == "RESEND" else "ATTEMPT")
            attempt["by"] = entry.get("by")
            attempt["reason"] = entry.get("reason")
            attempt["executionArn"] = entry.get("executionArn")
            attempts.append(attempt)
            if isinstance(execution, str):
                by_execution[execution] = attempt
        elif kind in ("ATTEMPT_SENT", "ATTEMPT_FAILED"):
            ended = by_execution.get(execution) if isinstance(execution, str) else None
            if ended is None:  # its start entry is missing: still show how it ended
                ended = _new_attempt(execution, started_at=None, kind="ATTEMPT")
                attempts.append(ended)
            ended["endedAt"] = entry.get("at")
            ended["outcome"] = "SENT" if kind == "ATTEMPT_SENT" else "FAILED"
            ended["error"] = entry.get("error")
            ended["cause"] = entry.get("cause")
            ended["sesMessageId"] = entry.get("sesMessageId")
            ended["executionArn"] = ended["executionArn"] or entry.get("executionArn")
    for attempt in attempts:
        if isinstance(attempt["executionArn"], str):
            attempt["consoleUrl"] = console_url(attempt["executionArn"], attempt["startedAt"] or attempt["endedAt"])
    return attempts


def request_body(item: Mapping[str, Any]) -> str | None:
    """The message body as it arrived (for replay), whichever way it is stored."""
    return unpack_request(item.get("request"))


def _stored_order(item: Mapping[str, Any]) -> dict[str, Any]:
    """The order a claimed item stores (compressed: it passed validation); {} for anything else."""
    if not isinstance(getattr(item.get("request"), "value", item.get("request")), bytes | bytearray):
        return {}
    try:
        order = json.loads(request_body(item) or "")
    except (ValueError, zlib.error):
        return {}
    return order if isinstance(order, dict) else {}


def order_timestamp(item: Mapping[str, Any]) -> object:
    if item.get("orderTimestamp"):
        return item["orderTimestamp"]
    stored = item.get("request")
    if isinstance(stored, str):  # items written before compression kept the body as a string
        try:
            order = json.loads(stored)
        except ValueError:
            return None
        return order.get("timestamp") if isinstance(order, dict) else None
    return _stored_order(item).get("timestamp")


def recipient(item: Mapping[str, Any]) -> object:
    if item.get("recipient"):
        return item["recipient"]
    return normalized_email(_stored_order(item).get("customerEmail"))


def _first_at(timeline: list[dict[str, Any]], kind: str | None = None) -> object:
    return next((entry.get("at") for entry in timeline if kind is None or entry.get("type") == kind), None)


def _last_sent_message_id(timeline: list[dict[str, Any]]) -> object:
    sent = [entry.get("sesMessageId") for entry in timeline if entry.get("type") == "ATTEMPT_SENT"]
    return sent[-1] if sent else None


def _event_view(entry: Mapping[str, Any], sent_ids: list[object]) -> dict[str, Any]:
    ses_message_id = entry.get("sesMessageId")
    mail = entry.get("mail")
    if ses_message_id is None and isinstance(mail, int) and 1 <= mail <= len(sent_ids):
        ses_message_id = sent_ids[mail - 1]  # `mail` numbers the ATTEMPT_SENT entries from 1
    view: dict[str, Any] = {"type": entry.get("type"), "at": entry.get("at"), "sesMessageId": ses_message_id}
    view.update({key: entry[key] for key in EVENT_DETAIL_KEYS if entry.get(key)})
    return view


def _counter(item: Mapping[str, Any], name: str) -> int:
    value = json_safe(item.get(name, 0))
    return value if isinstance(value, int) else 0


def order_summary(item: Mapping[str, Any]) -> dict[str, Any]:
    """The short form for lists (recent orders by status)."""
    summary = {name: json_safe(item.get(name)) for name in SUMMARY_ATTRIBUTES}
    timeline = _entries(item, "timeline")
    summary["createdAt"] = summary["createdAt"] or _first_at(timeline)
    summary["sesMessageId"] = summary["sesMessageId"] or _last_sent_message_id(timeline)
    summary["recipient"] = json_safe(recipient(item))
    for name in _COUNTERS:
        if name in summary:
            summary[name] = _counter(item, name)
    summary["payloadConflict"] = bool(item.get("payloadConflict", False))
    return summary


def order_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The full status document of one order."""
    timeline = _entries(item, "timeline")
    events = _entries(item, "events")
    # In append order (not sorted by time): an event's `mail` counts the sends as they were appended.
    sent_ids = [entry.get("sesMessageId") for entry in item.get("timeline") or ()
                if isinstance(entry, Mapping) and entry.get("type") == "ATTEMPT_SENT"]
    view = order_summary(item)
    view.update(
        {
            "orderTimestamp": json_safe(order_timestamp(item)),
            "sentAt": json_safe(item.get("sentAt")) or _first_at(timeline, "ATTEMPT_SENT"),
            "failedAt": json_safe(item.get("failedAt")),
            "invalidCount": _counter(item, "invalidCount"),
            "resendCount": _counter(item, "resendCount"),
            "payloadHash": json_safe(item.get("payloadHash")),
            "attempts": attempts_from_timeline(timeline),
            "events": [_event_view(entry, sent_ids) for entry in events],
            "timeline": timeline,
        }
    )
    return view
