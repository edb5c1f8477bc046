"""`ordermail publish FILE|-`: publish order JSON to the orders topic, as the order service does."""

from __future__ import annotations

import argparse
from typing import Any

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_FAILED, EXIT_OK
from ordermail.cli.orders_file import SNS_MAX_BYTES, Order, load_orders
from ordermail.cli.output import console, print_json, progress, table
from tasks import names

_BATCH_ENTRIES = 10  # SNS PublishBatch maximum
_SHOW_IDS_UP_TO = 25


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("publish", parents=parents, help="publish order JSON (object, array or JSON lines)",
                            description="Publish orders to the orders topic with the eventType attribute. "
                                        "The whole input is parsed and checked first: a bad file publishes nothing.")
    parser.add_argument("source", metavar="FILE|-", help="a JSON file (one object, an array, or JSON lines); - for stdin")
    parser.set_defaults(func=run)


def _batches(orders: list[Order]) -> list[list[tuple[int, Order]]]:
    """Up to 10 entries per PublishBatch call and within SNS's 256 KiB total per call."""
    batches: list[list[tuple[int, Order]]] = []
    current: list[tuple[int, Order]] = []
    size = 0
    for index, order in enumerate(orders):
        if current and (len(current) == _BATCH_ENTRIES or size + order.size > SNS_MAX_BYTES - 4096):
            batches.append(current)
            current, size = [], 0
        current.append((index, order))
        size += order.size
    if current:
        batches.append(current)
    return batches


def publish_orders(ctx: AwsContext, orders: list[Order]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Publish; returns (published, failed) as rows of index, orderId, messageId or error."""
    topic = ctx.output("OrdersTopicArn")
    sns = ctx.client("sns")
    attributes = {names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}}
    published: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    with progress(len(orders), "publishing") as bar:
        task = bar.add_task("publishing", total=len(orders))
        for batch in _batches(orders):
            response = sns.publish_batch(
                TopicArn=topic,
                PublishBatchRequestEntries=[
                    {"Id": str(index), "Message": order.body, "MessageAttributes": attributes}
                    for index, order in batch
                ],
            )
            by_index = dict(batch)
            for ok in response.get("Successful", []):
                index = int(ok["Id"])
                published.append({"index": index, "orderId": by_index[index].order_id, "messageId": ok["MessageId"]})
            for bad in response.get("Failed", []):
                index = int(bad["Id"])
                failed.append({"index": index, "orderId": by_index[index].order_id,
                               "error": f"{bad.get('Code')}: {bad.get('Message', '')}"})
            bar.advance(task, len(batch))
    published.sort(key=lambda row: row["index"])
    failed.sort(key=lambda row: row["index"])
    return published, failed


def run(args: argparse.Namespace) -> int:
    orders = load_orders(args.source)  # raises UsageError (exit 2) before anything is published
    ctx = AwsContext.from_args(args)
    published, failed = publish_orders(ctx, orders)
    if args.json:
        print_json({"published": len(published), "failed": len(failed), "messages": published, "errors": failed})
    else:
        out = console()
        if len(published) <= _SHOW_IDS_UP_TO and published:
            out.print(table(None, ("#", "order", "SNS message id"),
                            [(row["index"] + 1, row["orderId"], row["messageId"]) for row in published]))
        if failed:
            out.print(table("Not published", ("#", "order", "error"),
                            [(row["index"] + 1, row["orderId"], row["error"]) for row in failed]))
        noun = "order" if len(published) == 1 else "orders"
        out.print(f"published {len(published)} {noun} to {ctx.output('OrdersTopicArn')}"
                  + (f"; {len(failed)} failed" if failed else ""))
    return EXIT_FAILED if failed else EXIT_OK
