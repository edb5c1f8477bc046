"""Ledger status precedence and the pure update an SES event makes to a ledger item (docs/LEDGER.md).

Precedence: PROCESSING < SENT < DELAYED < DELIVERED < BOUNCED = REJECTED = SUPPRESSED < COMPLAINED,
the tie broken BOUNCED < REJECTED < SUPPRESSED, so the ranks form one total order. FAILED and INVALID
rank below everything: any status SES reports replaces them (SES's word beats ours). An event moves
the status to max(current, event status), so the final status is the maximum over all events
received — the same whatever order SNS delivers them in, and unchanged by duplicates.

What each event type means for the status:
- Send → SENT; Delivery → DELIVERED; DeliveryDelay → DELAYED; Reject → REJECTED.
- Bounce, Permanent (and Undetermined) → BOUNCED; Permanent with subtype OnAccountSuppressionList or
  Suppressed → SUPPRESSED (SES did not even try).
- Bounce, Transient (a soft bounce: mailbox full, message too large, …) → DELAYED at most: the
  address is fine and the mail may still arrive, so it must not outrank a Delivery; the bounce is
  recorded with its type and subtype for the operator.
- Complaint → COMPLAINED; a Complaint with complaintSubType OnAccountSuppressionList means SES
  suppressed the send because of an earlier complaint → SUPPRESSED.
- RenderingFailure → no status change (we send fully rendered content, never SES templates; the
  event is recorded so an operator sees it).
- Open, Click, Subscription → no status change; recorded, at most MAX_ENGAGEMENT_EVENTS of them per
  order (each open would otherwise grow the item toward DynamoDB's 400 KB limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from tasks import names
from tasks.domain.ledger_codec import event_key_digest
from tasks.domain.ses_events import SesEvent


class Status(StrEnum):
    PROCESSING = "PROCESSING"
    SENT = "SENT"
    DELAYED = "DELAYED"
    DELIVERED = "DELIVERED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    REJECTED = "REJECTED"
    SUPPRESSED = "SUPPRESSED"
    INVALID = "INVALID"
    FAILED = "FAILED"


_RANK: Final[dict[str, int]] = {
    Status.FAILED: -1,
    Status.INVALID: -1,
    Status.PROCESSING: 0,
    Status.SENT: 1,
    Status.DELAYED: 2,
    Status.DELIVERED: 3,
    Status.BOUNCED: 4,
    Status.REJECTED: 5,
    Status.SUPPRESSED: 6,
    Status.COMPLAINED: 7,
}
SUPPRESSION_SUB_TYPES: Final = frozenset({"OnAccountSuppressionList", "Suppressed"})
ENGAGEMENT_TYPES: Final = frozenset({"Open", "Click", "Subscription"})
MAX_ENGAGEMENT_EVENTS: Final = 25


def rank(status: str | None) -> int:
    """Precedence of a status; an unknown or missing status ranks with FAILED (anything beats it)."""
    return _RANK.get(status or "", -1)


def higher(current: str | None, candidate: str) -> str:
    """The status that wins: never moves backwards."""
    return candidate if rank(candidate) > rank(current) or current is None else current


def status_for_event(event: SesEvent) -> Status | None:
    """The status an event asks for; None when it never changes the status."""
    if event.type == "Send":
        return Status.SENT
    if event.type == "Delivery":
        return Status.DELIVERED
    if event.type == "DeliveryDelay":
        return Status.DELAYED
    if event.type == "Reject":
        return Status.REJECTED
    if event.type == "Bounce":
        if event.bounce_type == "Transient":
            return Status.DELAYED
        if event.bounce_sub_type in SUPPRESSION_SUB_TYPES:
            return Status.SUPPRESSED
        return Status.BOUNCED
    if event.type == "Complaint":
        if event.complaint_sub_type in SUPPRESSION_SUB_TYPES:
            return Status.SUPPRESSED
        return Status.COMPLAINED
    return None  # RenderingFailure, Open, Click, Subscription


def _mail_number(item: Mapping[str, Any], ses_message_id: str) -> int | None:
    """1-based position of the `ATTEMPT_SENT` entry for this message id among the item's sends."""
    sent = [entry for entry in item.get("timeline") or () if isinstance(entry, Mapping) and entry.get("type") == "ATTEMPT_SENT"]
    for number, entry in enumerate(sent, start=1):
        if entry.get("sesMessageId") == ses_message_id:
            return number
    return None


def event_entry(event: SesEvent, item: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `events` list entry for an SES event (docs/LEDGER.md); its key goes to `eventKeys` only.

    The mail it is about is `mail`, the number of its `ATTEMPT_SENT` entry (the timeline only ever
    grows, so the number stays right), or, when that send is not recorded (yet), `sesMessageId`.
    """
    mail = _mail_number(item or {}, event.ses_message_id)
    reference: dict[str, Any] = {"mail": mail} if mail is not None else {"sesMessageId": event.ses_message_id}
    return {"type": event.type, "at": event.at, **reference, **event.details()}


def _has_recorded_send(item: Mapping[str, Any]) -> bool:
    if item.get("sesMessageId"):
        return True
    timeline = item.get("timeline") or ()
    return any(isinstance(entry, Mapping) and entry.get("type") == "ATTEMPT_SENT" for entry in timeline)


@dataclass(frozen=True)
class Retention:
    """How long the ledger keeps an order once SES has had its say (days): `delivered` for a
    DELIVERED order, `listed` (retentionDays) for one in a listed status, which needs a look."""

    delivered: int
    listed: int


def _expiry(item: Mapping[str, Any], status: str, now: str, retention: Retention | None) -> int | None:
    """The new `expiresAt` for an order that just reached `status`, or None to leave it."""
    if retention is None:
        return None
    try:
        now_epoch = int(datetime.fromisoformat(now).timestamp())
    except (TypeError, ValueError):  # a time without a zone cannot be an epoch
        return None
    current = item.get("expiresAt")
    current_epoch = int(current) if isinstance(current, int | Decimal) else None
    if status == Status.DELIVERED:
        candidate = now_epoch + retention.delivered * 86_400
        return candidate if current_epoch is None else min(current_epoch, candidate)
    if status in names.LEDGER_LISTED_STATUSES:
        candidate = now_epoch + retention.listed * 86_400
        return candidate if current_epoch is None else max(current_epoch, candidate)
    return None


def apply_event(
    item: Mapping[str, Any], event: SesEvent, *, now: str, retention: Retention | None = None
) -> dict[str, Any] | None:
    """The attributes to SET on the ledger item for this event (None: REMOVE), or None when nothing changes.

    None means the event was applied before (its key, or its key's digest, is in `eventKeys`) or is
    an engagement event beyond the cap. `item` holds plain Python values as boto3's
    TypeDeserializer returns them. The status's index key `listedStatus` follows the status: set for
    the listed statuses, removed otherwise; so does `expiresAt` with `retention` (a delivered order
    is kept `retention.delivered` days, one that needs a look at least `retention.listed`).
    """
    applied_keys = set(item.get("eventKeys") or ())
    digest = event_key_digest(event.key)
    if digest in applied_keys or event.key in applied_keys:  # raw keys: items written before digests
        return None
    events = list(item.get("events") or ())
    if event.type in ENGAGEMENT_TYPES:
        engagement = sum(1 for entry in events if isinstance(entry, Mapping) and entry.get("type") in ENGAGEMENT_TYPES)
        if engagement >= MAX_ENGAGEMENT_EVENTS:
            return None

    changes: dict[str, Any] = {
        "events": [*events, event_entry(event, item)],
        "eventKeys": applied_keys | {digest},
        "updatedAt": now,
    }
    current = item.get("status")
    new_status = current
    candidate = status_for_event(event)
    if candidate is not None:
        new_status = higher(current if isinstance(current, str) else None, candidate)
        if new_status != current:
            changes["status"] = str(new_status)
            expires = _expiry(item, str(new_status), now, retention)
            if expires is not None and expires != item.get("expiresAt"):
                changes["expiresAt"] = expires
    listed = str(new_status) if new_status in names.LEDGER_LISTED_STATUSES else None
    if listed is not None or item.get(names.LEDGER_LISTED_STATUS_ATTRIBUTE) is not None:
        changes[names.LEDGER_LISTED_STATUS_ATTRIBUTE] = listed  # re-keyed with updatedAt, or removed
    if not _has_recorded_send(item):
        changes["sesMessageId"] = event.ses_message_id  # any event repairs an unrecorded send
    return changes
