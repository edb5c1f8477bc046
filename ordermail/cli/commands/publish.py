"""`ordermail publish FILE|-`: send order JSON in the way a shop does (docs/ARCHITECTURE.md "Intakes").

`--via sns` (default) publishes to the orders topic; `--via api` POSTs each order to the HTTP
intake, SigV4-signed for execute-api with the current credentials; `--via eventbridge` puts
OrderConfirmed events on the orders bus.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_FAILED, EXIT_OK, CliError
from ordermail.cli.orders_file import SNS_MAX_BYTES, Order, load_orders
from ordermail.cli.output import console, print_json, progress, table
from tasks import names

_BATCH_ENTRIES = 10  # SNS PublishBatch and EventBridge PutEvents maximum
VIAS = ("sns", "api", "eventbridge")
EVENT_SOURCE = "ordermail.cli"  # the rule accepts any source unless context ordersEventSources lists some
_SHOW_IDS_UP_TO = 25


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("publish", parents=parents, help="publish order JSON (object, array or JSON lines)",
                            description="Publish orders to the orders topic with the eventType attribute. "
                                        "The whole input is parsed and checked first: a bad file publishes nothing.")
    parser.add_argument("source", metavar="FILE|-", help="a JSON file (one object, an array, or JSON lines); - for stdin")
    parser.add_argument("--via", choices=VIAS, default="sns",
                        help="sns: the orders topic (default); api: signed POST to OrdersApiUrl; "
                             "eventbridge: PutEvents on OrdersEventBusName")
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


def post_orders(ctx: AwsContext, orders: list[Order]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """POST each order to the HTTP intake, signed (SigV4, execute-api) with the current credentials."""
    url = ctx.output("OrdersApiUrl")
    if not url.startswith(("https://", "http://")):  # http: the local runtime's loopback API
        raise CliError(f"OrdersApiUrl is not an http(s) URL: {url}")
    credentials = ctx.session.get_credentials()
    if credentials is None:
        raise CliError("no AWS credentials to sign the request with")
    signer = SigV4Auth(credentials.get_frozen_credentials(), "execute-api", ctx.region_name)
    published: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for index, order in enumerate(orders):
        request = AWSRequest(method="POST", url=url, data=order.body.encode("utf-8"),
                             headers={"Content-Type": "application/json"})
        signer.add_auth(request)
        prepared = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url, data=order.body.encode("utf-8"), headers=dict(request.headers), method="POST")
        try:
            with urllib.request.urlopen(prepared, timeout=30) as response:  # noqa: S310 (scheme checked above)
                answer = json.loads(response.read() or b"{}")
            published.append({"index": index, "orderId": order.order_id, "messageId": answer.get("messageId")})
        except urllib.error.HTTPError as error:
            raw = error.read() or b"{}"
            try:
                detail = json.loads(raw)
                message = detail.get("message") or detail.get("Message") or raw.decode("utf-8", "replace")
            except ValueError:
                message = raw.decode("utf-8", "replace")
            failed.append({"index": index, "orderId": order.order_id, "error": f"HTTP {error.code}: {message}"})
        except urllib.error.URLError as error:
            raise CliError(f"cannot reach {url}: {error.reason}") from error
    return published, failed


def put_order_events(ctx: AwsContext, orders: list[Order]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """PutEvents, OrderConfirmed with the order as detail, up to 10 entries a call."""
    bus = ctx.output("OrdersEventBusName")
    events = ctx.client("events")
    published: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for batch in _batches(orders):
        response = events.put_events(Entries=[
            {"EventBusName": bus, "Source": EVENT_SOURCE, "DetailType": names.ORDER_EVENT_TYPE, "Detail": order.body}
            for _, order in batch
        ])
        for (index, order), entry in zip(batch, response.get("Entries", []), strict=True):
            if entry.get("EventId"):
                published.append({"index": index, "orderId": order.order_id, "messageId": entry["EventId"]})
            else:
                failed.append({"index": index, "orderId": order.order_id,
                               "error": f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage', '')}"})
    return published, failed


def run(args: argparse.Namespace) -> int:
    orders = load_orders(args.source)  # raises UsageError (exit 2) before anything is published
    ctx = AwsContext.from_args(args)
    via = getattr(args, "via", "sns")
    send = {"sns": publish_orders, "api": post_orders, "eventbridge": put_order_events}[via]
    published, failed = send(ctx, orders)
    if args.json:
        print_json({"published": len(published), "failed": len(failed), "messages": published, "errors": failed})
    else:
        out = console()
        if len(published) <= _SHOW_IDS_UP_TO and published:
            out.print(table(None, ("#", "order", "event id" if via == "eventbridge" else "message id"),
                            [(row["index"] + 1, row["orderId"], row["messageId"]) for row in published]))
        if failed:
            out.print(table("Not published", ("#", "order", "error"),
                            [(row["index"] + 1, row["orderId"], row["error"]) for row in failed]))
        noun = "order" if len(published) == 1 else "orders"
        target = {"sns": "OrdersTopicArn", "api": "OrdersApiUrl", "eventbridge": "OrdersEventBusName"}[via]
        out.print(f"published {len(published)} {noun} to {ctx.output(target)}"
                  + (f"; {len(failed)} failed" if failed else ""))
    return EXIT_FAILED if failed else EXIT_OK
