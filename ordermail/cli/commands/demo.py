"""`ordermail demo`: the whole pipeline offline, in seconds, on the sample orders.

Starts the embedded runtime in this process, sends `ordermail/samples.py` in through the orders
topic, the signed HTTP intake and EventBridge (then publishes one order again, as a duplicate), waits until every execution and SES event
has been processed, and prints what the ledger says — the same commands an operator uses on AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

from rich.text import Text

from ordermail import samples
from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_FAILED, EXIT_OK, CliError
from ordermail.cli.ledger import Ledger, order_view
from ordermail.cli.orders_file import Order
from ordermail.cli.output import console, print_json, status_text, table

from . import events, history
from .local import add_runtime_arguments, print_iam_report, runtime_options
from .publish import post_orders, publish_orders, put_order_events

HISTORY_OF = "demo-1005"  # the duplicate: its history shows one attempt and the duplicate delivery
SETTLE_SECONDS = 30.0
# Each way in (docs/ARCHITECTURE.md "Intakes"): the sender and how the demo names it.
SENDERS: dict[str, tuple[Any, str]] = {
    "sns": (publish_orders, "the orders topic (SNS Publish)"),
    "api": (post_orders, "the HTTP intake (SigV4-signed POST)"),
    "eventbridge": (put_order_events, "EventBridge (PutEvents, OrderConfirmed)"),
}
LOG_NAME = "runtime.log"


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", parents=parents, help="run sample orders through the embedded runtime",
                            description="Start the local runtime in-process, publish sample orders (good ones in "
                                        "four currencies, a duplicate, an invalid one, SES simulator bounce, "
                                        "complaint and suppression list), and show what the ledger recorded.")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run, status_events=True)  # the demo shows the status events too


def _wait_for(ledger: Ledger, runtime: Any, expected: dict[str, str], timeout: float) -> dict[str, dict[str, Any]]:
    """Until the pipeline is idle and every order reached its expected status (or time is up)."""
    deadline = time.monotonic() + timeout
    items: dict[str, dict[str, Any]] = {}
    while True:
        runtime.wait_idle(timeout=max(0.1, deadline - time.monotonic()))
        items = {str(i["orderId"]): i for i in ledger.batch_get(expected)}
        if all(items.get(oid, {}).get("status") == status for oid, status in expected.items()):
            return items
        if time.monotonic() >= deadline:
            return items
        time.sleep(0.05)


def _run_pipeline(runtime: Any, ctx: AwsContext, say: Any) -> dict[str, dict[str, Any]]:
    """Publish the samples (then the duplicate) and wait for every order to settle."""
    ledger = Ledger(ctx)
    first = [Order(sample.body, sample.order_id) for sample in samples.SAMPLES]
    duplicates = [Order(sample.body, sample.order_id) for sample in samples.SAMPLES
                  for _ in range(sample.publish_times - 1)]
    say(f"local runtime at {runtime.endpoint_url}; sending {len(first)} sample orders in")
    failed: list[dict[str, Any]] = []
    for via, (send, label) in SENDERS.items():
        batch = [Order(s.body, s.order_id) for s in samples.SAMPLES if s.via == via]
        if batch:
            say(f"  {len(batch)} through {label}: {', '.join(o.order_id or '?' for o in batch)}")
            _, failed_now = send(ctx, batch)
            failed += failed_now
    runtime.wait_idle(timeout=SETTLE_SECONDS)
    if duplicates:  # after the first copy is done, as a late SNS redelivery would arrive
        say(f"publishing {', '.join(o.order_id or '?' for o in duplicates)} again (a duplicate delivery)")
        _, failed_again = publish_orders(ctx, duplicates)
        failed += failed_again
    if failed:
        raise CliError(f"{len(failed)} sample order(s) could not be published: {failed[0]['error']}")
    expected = {sample.order_id: sample.expect for sample in samples.SAMPLES}
    items = _wait_for(ledger, runtime, expected, SETTLE_SECONDS)
    listed = _status_api_listing(runtime.outputs["StatusApiUrl"], "BOUNCED", region=runtime.region)
    say(f"status API (SigV4): GET /orders?status=BOUNCED lists {listed} order(s)")
    return items


def _status_api_listing(base_url: str, status: str, *, region: str) -> int:
    """What an operator's signed call to the IAM-authorized status API answers (a count)."""
    import json
    import urllib.request

    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = f"{base_url}/orders?status={status}&since=1h"
    request = AWSRequest(method="GET", url=url)
    credentials = boto3.Session().get_credentials()
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    # The runtime's own loopback http URL (StatusApiUrl), never a user-supplied scheme.
    signed = urllib.request.Request(url, headers=dict(request.headers))  # noqa: S310
    with urllib.request.urlopen(signed, timeout=10) as response:  # noqa: S310
        return len(json.loads(response.read()).get("orders", []))


def run(args: argparse.Namespace) -> int:
    from ordermail.emulator import LocalRuntime

    options = runtime_options(args, port=None)
    started = time.monotonic()
    out = console()
    outbox = Path(options.outbox_dir).resolve()
    outbox.mkdir(parents=True, exist_ok=True)
    log_path = outbox / LOG_NAME

    def say(text: str) -> None:
        if not args.json:
            out.print(text, markup=False)

    with LocalRuntime(options) as runtime:
        ctx = AwsContext(env=options.env, endpoint_url=runtime.endpoint_url, region=runtime.region)
        # The functions log (Powertools JSON, EMF metrics) to stdout as on Lambda; here that would
        # bury the demo's own output, so their lines go to a log file next to the mails.
        with contextlib.ExitStack() as stack:
            # Subscribed before the orders go in: every status event they cause is caught.
            follower = stack.enter_context(events.Follower(ctx)) if options.status_events else None
            with log_path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
                items = _run_pipeline(runtime, ctx, say)
            status_events = events.drain(follower) if follower else []
        views = {oid: order_view(item, local=True) for oid, item in items.items()}
        rows: list[dict[str, Any]] = []
        for sample in samples.SAMPLES:
            view = views.get(sample.order_id, {})
            rows.append({"orderId": sample.order_id, "expected": sample.expect, "status": view.get("status"),
                         "ok": view.get("status") == sample.expect, "note": sample.note,
                         "sesMessageId": view.get("sesMessageId"), "attempts": view.get("attemptCount"),
                         "duplicates": view.get("duplicateCount"),
                         "events": [e.get("type") for e in view.get("events") or []]})
        mails = runtime.sent_mails()  # this run's, whatever an earlier run left in the outbox
        iam = runtime.iam.report() if runtime.iam is not None else None
        elapsed = time.monotonic() - started
        all_ok = all(row["ok"] for row in rows)
        if args.json:
            print_json({"endpoint": runtime.endpoint_url, "outbox": str(outbox), "mails": len(mails),
                        "log": str(log_path), "seconds": round(elapsed, 2), "ok": all_ok, "orders": rows,
                        "iam": iam, "statusEvents": [e["detail"] for e in status_events]})
        else:
            out.print(table("Sample orders", ("order", "status", "expected", "SES events", "attempts", "dups", "what"),
                            [(r["orderId"], status_text(r["status"]),
                              Text("✓", style="green") if r["ok"] else Text(f"✗ {r['expected']}", style="red"),
                              ", ".join(r["events"]) or None, r["attempts"], r["duplicates"], r["note"])
                             for r in rows]))
            out.print()
            history.show(ctx, HISTORY_OF)
            out.print()
            if follower:
                out.print(f"{len(status_events)} status event(s) on bus {follower.bus} (ordermail events --follow):",
                          markup=False)
                for event in status_events:
                    out.print("  " + events.line(event), markup=False, highlight=False)
                out.print()
            if iam is not None:
                print_iam_report(iam)
                out.print()
            out.print(f"{len(mails)} mail(s) in {outbox} (.eml and .html: open the .html in a browser); "
                      f"function logs in {log_path}", markup=False)
            out.print(f"done in {elapsed:.1f} s" + ("" if all_ok else " — some orders did not reach the expected "
                                                    "status (marked ✗)"), markup=False)
    return EXIT_OK if all_ok else EXIT_FAILED
