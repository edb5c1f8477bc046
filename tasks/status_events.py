"""Status events' enrichment: ledger stream records → `OrderEmailStatusChanged` event details.

The status events Pipe (workflow/status_events.py) calls `handler` with the batch of stream records
its filter let through and sends each returned detail to the bus as one event; the local runtime
calls the same function through its Lambda (ordermail/emulator/status_events.py).

Pure: no AWS call, no clock. Only these ledger attributes are read (docs/LEDGER.md): `orderId`,
`status`, `updatedAt`, `timeline` (the last `ATTEMPT_SENT`'s `sesMessageId`), `events` (the last
SES event's `bounceType`/`bounceSubType`/`reason`), `invalidReason`, `lastError`, `sesMessageId`.
Never `recipient`, `deliverTo`, `request`, `invalidMessage` (it may quote the body) or
`lastCause`: an event carries no address and no name.
"""

from __future__ import annotations

from typing import Any, Final

# The SES event whose details explain each status (docs/LEDGER.md, "events" entries).
_EXPLAINING_EVENT: Final = {
    "BOUNCED": ("Bounce",),
    "SUPPRESSED": ("Bounce", "Complaint"),
    "COMPLAINED": ("Complaint",),
    "REJECTED": ("Reject",),
    "DELAYED": ("DeliveryDelay", "Bounce"),  # a transient bounce ranks as DELAYED
}


def _s(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _entries(image: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A list of maps in DynamoDB JSON, each map's string attributes only (all the detail needs)."""
    value = image.get(name)
    items = value.get("L") if isinstance(value, dict) else None
    result = []
    for item in items or ():
        fields = item.get("M") if isinstance(item, dict) else None
        if isinstance(fields, dict):
            result.append({k: v["S"] for k, v in fields.items() if isinstance(v, dict) and "S" in v})
    return result


def detail(record: dict[str, Any]) -> dict[str, Any] | None:
    """The event detail for one stream record; None when it is not a status change (the Pipe's
    filter already drops those: this is the same rule again, so the function is safe on its own)."""
    stream = record.get("dynamodb") or {}
    new, old = stream.get("NewImage") or {}, stream.get("OldImage") or {}
    status = _s(new, "status")
    previous = _s(old, "status") if record.get("eventName") == "MODIFY" else None
    if record.get("eventName") not in ("INSERT", "MODIFY") or status in (None, "PROCESSING", previous):
        return None
    keys = stream.get("Keys") or {}
    out: dict[str, Any] = {
        "orderId": _s(keys, "orderId") or _s(new, "orderId"),
        "status": status,
        "previousStatus": previous,
        "at": _s(new, "updatedAt"),
    }
    sent = [e.get("sesMessageId") for e in _entries(new, "timeline") if e.get("type") == "ATTEMPT_SENT"]
    ses_message_id = _s(new, "sesMessageId") or next((m for m in reversed(sent) if m), None)
    if ses_message_id:
        out["sesMessageId"] = ses_message_id
    if status == "INVALID":
        out["reason"] = _s(new, "invalidReason")
    elif status == "FAILED":
        out["reason"] = _s(new, "lastError")
    elif status in _EXPLAINING_EVENT:
        kinds = _EXPLAINING_EVENT[status]
        last = next((e for e in reversed(_entries(new, "events")) if e.get("type") in kinds), None)
        if last is not None:
            for key in ("bounceType", "bounceSubType", "reason"):
                if last.get(key):
                    out[key] = last[key]
            if "reason" not in out:
                out["reason"] = last.get("complaintFeedbackType") or last.get("delayType")
    return {k: v for k, v in out.items() if v is not None or k == "previousStatus"}


def handler(event: list[dict[str, Any]], context: object) -> list[dict[str, Any]]:
    """Pipes enrichment: a batch of stream records in, the event details out (one per status change)."""
    details = (detail(record) for record in event or ())
    return [d for d in details if d is not None]
