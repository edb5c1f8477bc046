"""`ordermail redrive-dlq`: move dead-lettered order messages back to the orders queue.

Receive, send with the same body and message attributes, then delete: a message is deleted from
the DLQ only after the orders queue accepted its copy, so a crash in between duplicates a message
(which the ledger claim absorbs) rather than losing one.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_OK, UsageError
from ordermail.cli.output import console, print_json, progress, table

_RECEIVE_MAX = 10
_INSPECT_VISIBILITY = 30  # seconds a message stays hidden while we look at it


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("redrive-dlq", parents=parents, help="move messages from the DLQ back to the orders queue",
                            description="Move dead-lettered messages (same body and attributes) back to the "
                                        "orders queue, where the workflow's claim keeps them from sending twice.")
    parser.add_argument("--max", type=int, default=None, metavar="N", help="move at most N messages")
    parser.add_argument("--dry-run", action="store_true", help="list the messages, move nothing")
    parser.set_defaults(func=run)


def _send_attributes(received: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's attribute shape → SendMessage's (drop the empty list members)."""
    result = {}
    for name, value in (received or {}).items():
        attribute = {"DataType": value["DataType"]}
        if "StringValue" in value:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["BinaryValue"] = value["BinaryValue"]
        result[name] = attribute
    return result


def _order_id(body: str) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return str(value.get("orderId")) if isinstance(value, dict) and value.get("orderId") is not None else None


def run(args: argparse.Namespace) -> int:
    if args.max is not None and args.max < 1:
        raise UsageError("--max must be at least 1")
    ctx = AwsContext.from_args(args)
    sqs = ctx.client("sqs")
    dlq, target = ctx.output("DeadLetterQueueUrl"), ctx.output("OrdersQueueUrl")
    depth = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                ["Attributes"].get("ApproximateNumberOfMessages", 0))
    limit = args.max if args.max is not None else None
    moved: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    hidden: list[str] = []  # receipt handles to release after a dry run
    total = min(depth, limit) if limit else depth
    with progress(total, "redriving" if not args.dry_run else "inspecting") as bar:
        task = bar.add_task("redriving", total=total or None)
        while limit is None or len(seen) < limit:
            want = _RECEIVE_MAX if limit is None else min(_RECEIVE_MAX, limit - len(seen))
            # Long polling (1 s) asks every SQS server, so an empty answer means an empty queue.
            messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=want, WaitTimeSeconds=1,
                                           VisibilityTimeout=_INSPECT_VISIBILITY,
                                           MessageAttributeNames=["All"],
                                           MessageSystemAttributeNames=["ApproximateReceiveCount",
                                                                        "SentTimestamp"]).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                row = {"messageId": message["MessageId"], "orderId": _order_id(message["Body"]),
                       "receiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount")}
                seen[message["MessageId"]] = row
                if args.dry_run:
                    hidden.append(message["ReceiptHandle"])
                else:
                    sent = sqs.send_message(QueueUrl=target, MessageBody=message["Body"],
                                            MessageAttributes=_send_attributes(message.get("MessageAttributes", {})))
                    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
                    moved.append({**row, "newMessageId": sent["MessageId"]})
                bar.advance(task)
    for handle in hidden:  # make inspected messages visible again right away
        sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=handle, VisibilityTimeout=0)
    rows = list(seen.values()) if args.dry_run else moved
    if args.json:
        print_json({"dryRun": args.dry_run, "count": len(rows), "messages": rows})
    else:
        out = console()
        if rows:
            out.print(table("Would move" if args.dry_run else "Moved", ("message", "order", "receives"),
                            [(r["messageId"], r["orderId"], r["receiveCount"]) for r in rows]))
        verb = "would move" if args.dry_run else "moved"
        out.print(f"{verb} {len(rows)} message(s) from the dead-letter queue to the orders queue", markup=False)
    return EXIT_OK
