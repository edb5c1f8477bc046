"""Putting a stored order back on the orders queue: the common path of replay and resend.

The message looks like one SNS delivered (raw delivery: the order JSON as body, `eventType` as a
message attribute) plus the CLI's own attributes, which the workflow's Validate step reads: a
replay is an ordinary claim (FAILED / INVALID / expired PROCESSING only), a resend goes through
ClaimResend, which records who and why.
"""

from __future__ import annotations

import time
from typing import Any

from ordermail.cli.aws import AwsContext
from ordermail.cli.ledger import lease_active
from tasks import names

REPLAYABLE = ("FAILED", "INVALID", "PROCESSING")


def _lease_text(item: dict[str, Any]) -> str:
    lease = item.get("leaseUntil")
    if lease is None:
        return "no lease recorded"
    return "lease until " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(lease)))


def replay_refusal(item: dict[str, Any], now_epoch: float | None = None) -> str | None:
    """Why this order must not be replayed, or None when a replay is safe."""
    order_id = item.get(names.LEDGER_PARTITION_KEY)
    status = item.get("status")
    if status in names.LEDGER_SENT_STATUSES:
        return (f"order {order_id} is {status}: its mail has already gone out, so replay would change nothing "
                f"(the claim refuses it); to send a copy on purpose use "
                f"`ordermail resend {order_id} --reason TEXT`")
    if status == "PROCESSING" and lease_active(item, now_epoch):
        return (f"order {order_id} is PROCESSING ({_lease_text(item)}): an execution may still be sending it; "
                "replay it after the lease expires")
    if status not in REPLAYABLE:
        return f"order {order_id} has status {status!r}, which replay does not handle"
    if not item.get("request"):
        return f"order {order_id} has no stored request to replay: publish it again from the order service"
    return None


def resend_refusal(item: dict[str, Any], now_epoch: float | None = None) -> str | None:
    """Why a deliberate copy must not be sent now, or None."""
    order_id = item.get(names.LEDGER_PARTITION_KEY)
    status = item.get("status")
    if status == "PROCESSING" and lease_active(item, now_epoch):
        return (f"order {order_id} is PROCESSING ({_lease_text(item)}): it is in flight; "
                "wait for it to finish, then check `ordermail status`")
    if status == "INVALID":
        return (f"order {order_id} is INVALID ({item.get('invalidReason') or 'invalid'}): there is no valid order to "
                "re-send; fix it upstream and publish it again")
    if not item.get("request"):
        return f"order {order_id} has no stored request to re-send"
    return None


def base_attributes() -> dict[str, dict[str, str]]:
    return {names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}}


def send(ctx: AwsContext, body: str, extra: dict[str, str]) -> str:
    """Send one message to the orders queue; returns the SQS message id."""
    attributes = base_attributes()
    attributes.update({key: {"DataType": "String", "StringValue": value} for key, value in extra.items()})
    response = ctx.client("sqs").send_message(
        QueueUrl=ctx.output("OrdersQueueUrl"), MessageBody=body, MessageAttributes=attributes
    )
    return str(response["MessageId"])
