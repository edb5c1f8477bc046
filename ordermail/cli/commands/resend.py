"""`ordermail resend ORDER_ID --reason TEXT`: a deliberate, audited copy of an order's mail.

The message carries a fresh resend id, who and why; the workflow's ClaimResend step claims the
order once per resend id and writes a RESEND entry (by, reason, resendId) into the timeline, so
the ledger itself is the audit trail. A redelivered resend message cannot send twice.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from ordermail.cli import requeue
from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_OK, Refused, UsageError
from ordermail.cli.ledger import Ledger
from ordermail.cli.output import console, print_json
from tasks import names
from tasks.domain.ledger_view import request_body

MAX_REASON_CHARS = 1000  # what the Validate step keeps (tasks/validate.py)
MAX_BY_CHARS = 200


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("resend", parents=parents, help="deliberately re-send an order's mail (audited)",
                            description="Send a copy of an order's confirmation on purpose. The ledger records "
                                        "who asked and why. Refused while the order is in flight.")
    parser.add_argument("order_id", metavar="ORDER_ID")
    parser.add_argument("--reason", required=True, help="why the copy is sent (recorded in the order's timeline)")
    parser.add_argument("--by", help="who asks (default: your AWS caller identity, else $USER)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    reason = " ".join(args.reason.split())  # one line in the timeline
    if not reason:
        raise UsageError("--reason must say why the copy is sent")
    if len(reason) > MAX_REASON_CHARS:
        raise UsageError(f"--reason is {len(reason)} characters; keep it under {MAX_REASON_CHARS}")
    if args.by is not None and not 0 < len(args.by.strip()) <= MAX_BY_CHARS:
        raise UsageError(f"--by must be 1 to {MAX_BY_CHARS} characters")
    ctx = AwsContext.from_args(args)
    item = Ledger(ctx).require(args.order_id)
    refusal = requeue.resend_refusal(item)
    if refusal:
        raise Refused(refusal)
    by = (args.by or "").strip() or ctx.caller()
    resend_id = str(uuid.uuid4())
    message_id = requeue.send(ctx, request_body(item) or "", {
        names.RESEND_ID_ATTRIBUTE: resend_id,
        names.RESEND_BY_ATTRIBUTE: by,
        names.RESEND_REASON_ATTRIBUTE: reason,
    })
    result = {"orderId": args.order_id, "previousStatus": item.get("status"), "resendId": resend_id, "by": by,
              "reason": reason, "messageId": message_id}
    if args.json:
        print_json(result)
    else:
        console().print(f"resend of order {args.order_id} queued (resend id {resend_id}, by {by}, "
                        f"reason: {reason}); it will appear as RESEND in `ordermail history {args.order_id}`",
                        markup=False, soft_wrap=True)
    return EXIT_OK
