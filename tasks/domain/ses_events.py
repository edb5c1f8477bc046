"""SES feedback records → normalized `SesEvent`s.

Two source formats are understood:
- event publishing (configuration-set event destinations): `eventType` is one of Send, Delivery,
  Bounce, Complaint, DeliveryDelay, Reject, Rendering Failure (with a space), Open, Click,
  Subscription; `mail.tags` carries our orderId tag;
- the older identity notifications: `notificationType` is Bounce, Complaint or Delivery, and there
  are no `mail.tags`; the order is named by our `X-OrderMail-Order-Id` header in `mail.headers`
  (identity notifications include headers only with "include original headers" on).

`records_from_lambda_event` unwraps what a Lambda receives (an SNS event, an SQS event whose bodies
are SNS envelopes, or one bare record) and reports — never raises — the pieces it cannot read, so
one bad record does not hold up the others. `parse_ses_record` raises `MalformedSesRecord` for a
record it cannot use and `IgnoredSesRecord` for a well-formed one that carries no feedback (the
SNS subscription confirmation SES sends once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from tasks.domain.tags import order_id_from_headers, order_id_from_tags

MAX_DETAIL_CHARS: Final = 1000

EVENT_TYPES: Final = (
    "Send",
    "Delivery",
    "Bounce",
    "Complaint",
    "DeliveryDelay",
    "Reject",
    "RenderingFailure",
    "Open",
    "Click",
    "Subscription",
)
_TYPE_BY_FOLDED_NAME: Final = {name.lower(): name for name in EVENT_TYPES}
# The object holding each type's details, in the event-publishing format.
_DETAIL_KEY: Final = {
    "Send": "send",
    "Delivery": "delivery",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "DeliveryDelay": "deliveryDelay",
    "Reject": "reject",
    "RenderingFailure": "failure",
    "Open": "open",
    "Click": "click",
    "Subscription": "subscription",
}
_NOTIFICATION_TYPES: Final = ("Bounce", "Complaint", "Delivery")
_IGNORED_NOTIFICATION_TYPES: Final = ("AmazonSnsSubscriptionSucceeded",)


class SesRecordError(ValueError):
    """A record that yields no SesEvent."""


class MalformedSesRecord(SesRecordError):
    """Not a readable SES record (missing fields, wrong types, unknown event type)."""


class IgnoredSesRecord(SesRecordError):
    """A well-formed SES message that carries no feedback (e.g. the SNS subscription notice)."""


@dataclass(frozen=True)
class SesEvent:
    type: str  # one of EVENT_TYPES
    ses_message_id: str
    at: str  # the event's own time, ISO 8601 UTC
    key: str  # stable dedupe key: same event delivered twice → same key
    order_id: str | None = None  # from mail.tags, else our X-OrderMail-Order-Id header
    mail_timestamp: str | None = None  # when SES accepted the mail
    bounce_type: str | None = None
    bounce_sub_type: str | None = None
    diagnostic_code: str | None = None
    complaint_feedback_type: str | None = None
    complaint_sub_type: str | None = None
    delay_type: str | None = None
    reason: str | None = None
    processing_time_ms: int | None = None
    source_format: str = "eventType"  # or "notificationType"

    def details(self) -> dict[str, str]:
        """The per-type details, under the ledger's attribute names (docs/LEDGER.md), non-empty only."""
        named = {
            "bounceType": self.bounce_type,
            "bounceSubType": self.bounce_sub_type,
            "diagnosticCode": self.diagnostic_code,
            "complaintFeedbackType": self.complaint_feedback_type,
            "delayType": self.delay_type,
            "reason": self.reason,
        }
        return {name: value for name, value in named.items() if value}


# --- small typed accessors: every shape problem becomes MalformedSesRecord ------------------------


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedSesRecord(f"{where}: expected an object")
    return value


def _optional_object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return {} if value is None else _object(value, f"{where}.{key}")


def _string(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedSesRecord(f"{where}.{key}: expected a non-empty string")
    return value


def _optional_string(parent: Mapping[str, Any], key: str) -> str | None:
    value = parent.get(key)
    if isinstance(value, str) and value:
        return value[:MAX_DETAIL_CHARS]
    return None


def _optional_int(parent: Mapping[str, Any], key: str) -> int | None:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return int(value)
    except (OverflowError, ValueError):  # inf / nan
        return None


def normalize_timestamp(value: object) -> str | None:
    """ISO 8601 in UTC with millisecond precision and `Z`, or None when it is not a timestamp."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # SES always sends Z; be lenient with a bare time
    try:
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:
        return None


def _first_recipient_detail(details: Mapping[str, Any], list_key: str, key: str) -> str | None:
    recipients = details.get(list_key)
    if isinstance(recipients, list) and recipients and isinstance(recipients[0], Mapping):
        return _optional_string(recipients[0], key)
    return None


def _event_type(record: Mapping[str, Any]) -> tuple[str, str]:
    """(canonical type, source format)."""
    if "eventType" in record:
        raw = record["eventType"]
        if not isinstance(raw, str):
            raise MalformedSesRecord("eventType: expected a string")
        event_type = _TYPE_BY_FOLDED_NAME.get(raw.replace(" ", "").lower())
        if event_type is None:
            raise MalformedSesRecord(f"eventType: unknown type {raw[:40]!r}")
        return event_type, "eventType"
    if "notificationType" in record:
        raw = record["notificationType"]
        if raw in _IGNORED_NOTIFICATION_TYPES:
            raise IgnoredSesRecord(f"notificationType {raw}: carries no feedback")
        if not isinstance(raw, str) or raw not in _NOTIFICATION_TYPES:
            raise MalformedSesRecord(f"notificationType: unknown type {str(raw)[:40]!r}")
        return raw, "notificationType"
    raise MalformedSesRecord("neither eventType nor notificationType: not an SES record")


def parse_ses_record(record: object) -> SesEvent:
    """One SES record (already JSON-decoded) → SesEvent; raises SesRecordError subclasses."""
    body = _object(record, "record")
    event_type, source_format = _event_type(body)
    mail = _object(body.get("mail"), "mail")
    message_id = _string(mail, "messageId", "mail")
    mail_timestamp = normalize_timestamp(mail.get("timestamp"))
    tags = mail.get("tags")
    order_id = order_id_from_tags(tags) if isinstance(tags, Mapping) else None
    order_id = order_id or order_id_from_headers(mail.get("headers"))
    details = _optional_object(body, _DETAIL_KEY[event_type], "record")

    own_timestamp = normalize_timestamp(details.get("timestamp"))
    at = own_timestamp or mail_timestamp
    if at is None:
        raise MalformedSesRecord("no usable timestamp (event or mail.timestamp)")

    fields: dict[str, Any] = {}
    # What makes two deliveries of one event the same, and two events of one type different.
    discriminator = own_timestamp or ""
    if event_type == "Bounce":
        fields["bounce_type"] = _optional_string(details, "bounceType")
        fields["bounce_sub_type"] = _optional_string(details, "bounceSubType")
        fields["diagnostic_code"] = _first_recipient_detail(details, "bouncedRecipients", "diagnosticCode")
        discriminator = _optional_string(details, "feedbackId") or discriminator
    elif event_type == "Complaint":
        fields["complaint_feedback_type"] = _optional_string(details, "complaintFeedbackType")
        fields["complaint_sub_type"] = _optional_string(details, "complaintSubType")
        fields["reason"] = fields["complaint_sub_type"]
        discriminator = _optional_string(details, "feedbackId") or discriminator
    elif event_type == "Delivery":
        fields["processing_time_ms"] = _optional_int(details, "processingTimeMillis")
    elif event_type == "DeliveryDelay":
        fields["delay_type"] = _optional_string(details, "delayType")
        fields["diagnostic_code"] = _first_recipient_detail(details, "delayedRecipients", "diagnosticCode")
    elif event_type == "Reject":
        fields["reason"] = _optional_string(details, "reason")
    elif event_type == "RenderingFailure":
        fields["reason"] = _optional_string(details, "errorMessage")
    elif event_type == "Click":
        discriminator = f"{discriminator}|{_optional_string(details, 'link') or ''}"
    elif event_type == "Send":
        discriminator = ""  # one Send per message

    return SesEvent(
        type=event_type,
        ses_message_id=message_id,
        at=at,
        key=f"{event_type}:{message_id}:{discriminator}"[:512],
        order_id=order_id,
        mail_timestamp=mail_timestamp,
        source_format=source_format,
        **fields,
    )


# --- unwrapping what the Lambda receives ----------------------------------------------------------


@dataclass(frozen=True)
class RecordProblem:
    where: str  # e.g. "Records[2]"
    problem: str


@dataclass
class UnwrappedRecords:
    records: list[tuple[str, Any]] = field(default_factory=list)  # (where, decoded SES record)
    problems: list[RecordProblem] = field(default_factory=list)


def _looks_like_ses_record(value: object) -> bool:
    return isinstance(value, Mapping) and ("eventType" in value or "notificationType" in value)


def _decode_json(text: object, where: str) -> object:
    if not isinstance(text, str):
        raise MalformedSesRecord(f"{where}: expected a JSON string")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedSesRecord(f"{where}: not valid JSON") from None


def _from_sns_envelope(envelope: Mapping[str, Any], where: str) -> object:
    """The SES record inside an SNS notification (Lambda's `Sns` object or an SQS body)."""
    return _decode_json(envelope.get("Message"), f"{where}.Message")


def _unwrap_one(record: object, where: str) -> object:
    entry = _object(record, where)
    sns = entry.get("Sns")
    if sns is not None:  # SNS → Lambda
        return _from_sns_envelope(_object(sns, f"{where}.Sns"), f"{where}.Sns")
    if "body" in entry:  # SQS → Lambda: the body is an SNS envelope, or the SES record (raw delivery)
        body = _object(_decode_json(entry["body"], f"{where}.body"), f"{where}.body")
        if body.get("Type") == "Notification" and "Message" in body:
            return _from_sns_envelope(body, f"{where}.body")
        return body
    if _looks_like_ses_record(entry):
        return entry
    raise MalformedSesRecord(f"{where}: neither an SNS nor an SQS record")


def records_from_lambda_event(event: object) -> UnwrappedRecords:
    """The SES records inside a Lambda event, with a problem entry for each piece that is unreadable."""
    result = UnwrappedRecords()
    if _looks_like_ses_record(event):
        result.records.append(("event", event))
        return result
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        result.problems.append(RecordProblem("event", "neither an SES record nor an event with Records"))
        return result
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        try:
            result.records.append((where, _unwrap_one(record, where)))
        except MalformedSesRecord as exc:
            result.problems.append(RecordProblem(where, str(exc)))
    return result
