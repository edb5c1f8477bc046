"""A ledger item → the public status document (the status API and `ordermail status --json`).

Input: the item as boto3's TypeDeserializer returns it (numbers are Decimal, sets are Python sets).
Output: JSON-safe (integral Decimals → int, others → str; sets → sorted lists), without the stored
request body or the claim token.

Attempts follow docs/LEDGER.md: an `ATTEMPT_STARTED` or `RESEND` timeline entry joined by
`executionArn` with the `ATTEMPT_SENT` / `ATTEMPT_FAILED` entry that ended it; outcome `SENT`,
`FAILED` or `IN_PROGRESS`. Duplicate deliveries are not attempts (nothing was claimed or sent):
they stay in `timeline` and `duplicateCount`.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

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


def _new_attempt(execution_arn: object, *, started_at: object, kind: str) -> dict[str, Any]:
    return {
        "executionArn": execution_arn,
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


def attempts_from_timeline(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = []
    by_execution: dict[str, dict[str, Any]] = {}
    for entry in timeline:
        kind = entry.get("type")
        execution_arn = entry.get("executionArn")
        if kind in ("ATTEMPT_STARTED", "RESEND"):
            attempt = _new_attempt(execution_arn, started_at=entry.get("at"), kind="RESEND" if kind == "RESEND" else "ATTEMPT")
            attempt["by"] = entry.get("by")
            attempt["reason"] = entry.get("reason")
            attempts.append(attempt)
            if isinstance(execution_arn, str):
                by_execution[execution_arn] = attempt
        elif kind in ("ATTEMPT_SENT", "ATTEMPT_FAILED"):
            ended = by_execution.get(execution_arn) if isinstance(execution_arn, str) else None
            if ended is None:  # its start entry is missing: still show how it ended
                ended = _new_attempt(execution_arn, started_at=None, kind="ATTEMPT")
                attempts.append(ended)
            ended["endedAt"] = entry.get("at")
            ended["outcome"] = "SENT" if kind == "ATTEMPT_SENT" else "FAILED"
            ended["error"] = entry.get("error")
            ended["cause"] = entry.get("cause")
            ended["sesMessageId"] = entry.get("sesMessageId")
    for attempt in attempts:
        if isinstance(attempt["executionArn"], str):
            attempt["consoleUrl"] = console_url(attempt["executionArn"], attempt["startedAt"] or attempt["endedAt"])
    return attempts


def _event_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"type": entry.get("type"), "at": entry.get("at"), "sesMessageId": entry.get("sesMessageId")}
    view.update({key: entry[key] for key in EVENT_DETAIL_KEYS if entry.get(key)})
    return view


def _counter(item: Mapping[str, Any], name: str) -> int:
    value = json_safe(item.get(name, 0))
    return value if isinstance(value, int) else 0


def order_summary(item: Mapping[str, Any]) -> dict[str, Any]:
    """The short form for lists (recent orders by status)."""
    summary = {name: json_safe(item.get(name)) for name in SUMMARY_ATTRIBUTES}
    for name in _COUNTERS:
        if name in summary:
            summary[name] = _counter(item, name)
    summary["payloadConflict"] = bool(item.get("payloadConflict", False))
    return summary


def order_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The full status document of one order."""
    timeline = _entries(item, "timeline")
    events = _entries(item, "events")
    view = order_summary(item)
    view.update(
        {
            "orderTimestamp": json_safe(item.get("orderTimestamp")),
            "sentAt": json_safe(item.get("sentAt")),
            "failedAt": json_safe(item.get("failedAt")),
            "invalidCount": _counter(item, "invalidCount"),
            "resendCount": _counter(item, "resendCount"),
            "payloadHash": json_safe(item.get("payloadHash")),
            "attempts": attempts_from_timeline(timeline),
            "events": [_event_view(entry) for entry in events],
            "timeline": timeline,
        }
    )
    return view
