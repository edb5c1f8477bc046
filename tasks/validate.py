"""Validate step of the order-email state machine (asl/order_email.asl.json, state `Validate`).

Input: `{"records": [<one SQS record as the EventBridge Pipe delivers it>], "executionArn": "…"}`.
Output (`$.validated` in the ASL): the normalized order and everything the Claim, Render, Send and
Record states read — see `build_validated`.

An order that can never be sent raises `InvalidOrder`; its message is a JSON document the ASL parses
(`ParseInvalidCause` → `RecordInvalid`), so the Lambda errorType must be exactly "InvalidOrder".
The Lambda runtime writes an unhandled error's message to the function's log, so that document
carries no part of the body (which holds the customer's address and name): the ASL stores the
raw body from the SQS record itself (`ParseInvalidCause` → `$.request`).
A batch of more than one record raises `UnexpectedBatch`: the Pipe is configured with batch size 1,
and guessing which record to drop would lose orders, so the execution fails and SQS redelivers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks import clock, names
from tasks.domain.ledger_codec import pack_request, stored_payload_hash, unpack_request
from tasks.domain.order import (
    CustomerLookupNeeded,
    LookedUpCustomer,
    Reason,
    Rejection,
    ValidOrder,
    canonical_json,
    sha256_hex,
    validate_order,
)
from tasks.domain.sandbox import delivery_address
from tasks.domain.tags import email_tags, order_id_headers
from tasks.observability import fingerprint, logger, metrics, publish_metrics, tracer
from tasks.settings import Settings, get_settings

MAX_RESEND_ID_CHARS: Final = 128
MAX_RESEND_BY_CHARS: Final = 200
MAX_RESEND_REASON_CHARS: Final = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class InvalidOrder(Exception):  # the class name is the Lambda errorType the ASL catches
    """The message can never become a mail. `str(exc)` is the JSON document RecordInvalid stores."""

    def __init__(self, document: str, *, key: str) -> None:
        super().__init__(document)
        self.key = key  # the ledger key the invalid message is recorded under


class UnexpectedBatch(Exception):
    """More than one record in one execution: the Pipe's batch size must be 1."""


@dataclass(frozen=True)
class _Record:
    body: object
    message_id: str
    receive_count: str
    message_attributes: dict[str, Any]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _iso(moment: datetime) -> str:
    """As Step Functions writes `$$.State.EnteredTime` (the Choice that compares them)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invalid_order_error(
    *, reason: str, message: str, raw: str, order_id: str | None, now: datetime, settings: Settings
) -> InvalidOrder:
    """The InvalidOrder whose JSON message the ASL turns into an INVALID ledger item."""
    key = order_id or f"invalid-{sha256_hex(raw)[:32]}"
    payload: dict[str, Any] = {
        "key": key,
        "orderId": order_id,
        "reason": reason,
        "message": message[:2000],
        "payloadHash": stored_payload_hash(sha256_hex(raw)),
        "expiresAt": str(_epoch(now + timedelta(days=settings.retention_days))),
    }
    return InvalidOrder(json.dumps(payload, ensure_ascii=False), key=key)


def _string_attribute(attributes: dict[str, Any], name: str) -> str | None:
    value = attributes.get(name)
    if isinstance(value, dict):
        value = value.get("stringValue", value.get("StringValue"))
    return value if isinstance(value, str) else None


def _one_line(text: str, limit: int) -> str:
    return _CONTROL.sub(" ", text).strip()[:limit]


def resend_request(attributes: dict[str, Any]) -> dict[str, str] | None:
    """`{"id", "by", "reason"}` when the message is a deliberate re-send, else None.

    Raises ValueError when the resend id attribute is present but unusable.
    """
    resend_id = _string_attribute(attributes, names.RESEND_ID_ATTRIBUTE)
    if resend_id is None:
        return None
    resend_id = resend_id.strip()
    if not resend_id or len(resend_id) > MAX_RESEND_ID_CHARS or _CONTROL.search(resend_id):
        raise ValueError(
            f"{names.RESEND_ID_ATTRIBUTE}: must be 1-{MAX_RESEND_ID_CHARS} characters without control characters"
        )
    by = _one_line(_string_attribute(attributes, names.RESEND_BY_ATTRIBUTE) or "", MAX_RESEND_BY_CHARS)
    why = _one_line(_string_attribute(attributes, names.RESEND_REASON_ATTRIBUTE) or "", MAX_RESEND_REASON_CHARS)
    return {"id": resend_id, "by": by or "unknown", "reason": why}


def _single_record(event: object) -> _Record:
    """The one SQS record of the event; raises Rejection for a missing or malformed one."""
    records = event.get("records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise Rejection(Reason.NO_RECORDS, "records: must be a non-empty array of SQS records")
    if len(records) > 1:
        raise UnexpectedBatch(f"got {len(records)} records; the Pipe must use batch size 1")
    record = records[0]
    if not isinstance(record, dict):
        raise Rejection(Reason.INVALID_RECORD, "records[0]: must be an SQS record object")
    attributes = record.get("attributes")
    count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, dict) else None
    message_attributes = record.get("messageAttributes")
    message_attributes = message_attributes if isinstance(message_attributes, dict) else {}
    return _Record(
        body=_requeued_body(record.get("body"), message_attributes),
        message_id=str(record.get("messageId") or ""),
        receive_count=str(count) if isinstance(count, str | int) and str(count).isdigit() else "1",
        message_attributes=message_attributes,
    )


def _requeued_body(body: object, attributes: dict[str, Any]) -> object:
    """The order a message the workflow put back on the queue carries (its Requeue state sends the
    ledger's compressed request, base64): the original body again. Any other message: as it came."""
    requeued = _string_attribute(attributes, names.REQUEUED_ATTRIBUTE)
    if requeued is None:
        return body
    if requeued != names.REQUEUED_FORMAT or not isinstance(body, str):
        raise Rejection(Reason.INVALID_RECORD, f"{names.REQUEUED_ATTRIBUTE}: unknown format {requeued[:40]!r}")
    try:
        return unpack_request(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError, zlib.error):
        raise Rejection(Reason.INVALID_RECORD, f"{names.REQUEUED_ATTRIBUTE}: the body is not a packed order") from None


def build_validated(valid: ValidOrder, record: _Record, *, now: datetime, settings: Settings) -> dict[str, Any]:
    """The Validate state's output (`$.validated`). Epoch numbers are strings: DynamoDB `N` values."""
    order = valid.order
    recipient = order.customer_email
    validated: dict[str, Any] = {
        "orderId": order.order_id,
        "order": valid.normalized,
        "recipient": recipient,
        "deliverTo": delivery_address(
            recipient, sandbox=settings.ses_sandbox, sandbox_recipient=settings.sandbox_recipient
        ),
        "payloadHash": stored_payload_hash(valid.payload_hash),
        "requestZ": pack_request(record.body) if isinstance(record.body, str) else pack_request(valid.canonical_json),
        "nowEpoch": str(_epoch(now)),
        "leaseUntil": str(_epoch(now) + settings.claim_lease_seconds),
        # Past this the execution stops waiting for a send slot and requeues the order (docs/PACING.md).
        "paceUntil": _iso(now + timedelta(seconds=settings.pacing_max_wait_seconds)),
        "expiresAt": str(_epoch(now + timedelta(days=settings.retention_days))),
        "receiveCount": record.receive_count,
        "messageId": record.message_id,
        "emailTags": email_tags(order.order_id, settings.environment),
        "headers": order_id_headers(order.order_id),
    }
    try:
        resend = resend_request(record.message_attributes)
    except ValueError as exc:
        raise Rejection(Reason.INVALID_RESEND, str(exc), order_id=order.order_id) from None
    if resend is not None:
        validated["resend"] = resend  # only when present: the ASL branches on IsPresent
    return validated


def _attribute_value(item: dict[str, Any], name: object) -> object:
    """A DynamoDB-JSON string attribute's value (`{"S": ...}`); None when absent or not a string."""
    if not isinstance(name, str) or not name:
        return None
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def looked_up_customer(event: dict[str, Any]) -> LookedUpCustomer | None:
    """The LookupCustomer state's GetItem output (`customer`) read with `attributes`, the names the
    stack projected (workflow/lookup.py); None on the first pass, before any lookup."""
    if "customer" not in event:
        return None
    output = event.get("customer")
    given = event.get("attributes")
    attributes: dict[str, Any] = given if isinstance(given, dict) else {}
    item = output.get("Item") if isinstance(output, dict) else None
    if not isinstance(item, dict):  # GetItem has no Item for an unknown key
        return LookedUpCustomer(found=False)
    return LookedUpCustomer(
        found=True,
        email=_attribute_value(item, attributes.get("email")),
        name=_attribute_value(item, attributes.get("name")),
        locale=_attribute_value(item, attributes.get("locale")),
    )


def _raw_text(record_body: object, event: object) -> str:
    """The text an invalid message is stored and hashed as (the body, or the event when there is none)."""
    if isinstance(record_body, str):
        return record_body
    try:
        return canonical_json(event)
    except (TypeError, ValueError):
        return repr(event)


@publish_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = _validate(event, context)
    if isinstance(outcome, InvalidOrder):
        # Raised outside the traced function: the tracer would log the message, which holds the body.
        raise outcome
    return outcome


@tracer.capture_lambda_handler(capture_response=False, capture_error=False)  # both would carry PII
def _validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | InvalidOrder:
    settings = get_settings()
    now = clock.utc_now()
    record: _Record | None = None
    try:
        record = _single_record(event)
        try:
            valid = validate_order(
                record.body,
                default_currency=settings.default_currency,
                customer_lookup=bool(event.get("customerLookup")) or "customer" in event,
                customer=looked_up_customer(event),
            )
        except CustomerLookupNeeded as needed:
            logger.append_keys(orderId=needed.order_id)
            logger.info("customer to be looked up", extra={"customerId": needed.customer_id})
            # The ASL's NeedsCustomerLookup branches on needsLookup (workflow/lookup.py).
            return {"needsLookup": True, "orderId": needed.order_id, "customerId": needed.customer_id}
        logger.set_correlation_id(valid.order_id)
        logger.append_keys(orderId=valid.order_id)
        validated = build_validated(valid, record, now=now, settings=settings)
    except Rejection as rejection:
        return _rejected(rejection, record, event, now=now, settings=settings)

    logger.info(
        "order validated",
        extra={
            "recipient": fingerprint(validated["recipient"]),
            "sandboxRedirected": validated["deliverTo"] != validated["recipient"],
            "items": len(valid.order.items),
            "currency": valid.order.currency,
            "total": str(valid.order.total),
            "payloadHash": valid.payload_hash,
            "receiveCount": validated["receiveCount"],
            "messageId": validated["messageId"],
            "resend": "resend" in validated,
            "executionArn": event.get("executionArn"),
        },
    )
    return validated


def _rejected(
    rejection: Rejection, record: _Record | None, event: object, *, now: datetime, settings: Settings
) -> InvalidOrder:
    if rejection.order_id:
        logger.set_correlation_id(rejection.order_id)
        logger.append_keys(orderId=rejection.order_id)
    error = invalid_order_error(
        reason=rejection.reason.value,
        message=rejection.message,
        raw=_raw_text(record.body if record else None, event),
        order_id=rejection.order_id,
        now=now,
        settings=settings,
    )
    logger.warning(
        "order rejected",
        extra={
            "reason": rejection.reason.value,
            "invalidMessage": rejection.message,  # names fields, never their values
            "key": error.key,
            "messageId": record.message_id if record else None,
            "executionArn": event.get("executionArn") if isinstance(event, dict) else None,
        },
    )
    metrics.add_metric(name=names.METRIC_INVALID_ORDERS, unit=MetricUnit.Count, value=1)
    return error
