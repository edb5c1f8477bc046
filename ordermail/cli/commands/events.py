"""`ordermail events --follow`: the order status events (docs/EVENTS.md) as they happen.

A temporary SQS queue and a rule on the status bus (output `StatusEventBusName`) that sends the
`OrderEmailStatusChanged` events there; the queue's policy lets only that rule send. Both are
removed on exit (Ctrl-C, SIGTERM, --max or --duration reached). Works on AWS and against the local
runtime (`--endpoint-url`, started with `--status-events`).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_OK, CliError, UsageError
from ordermail.cli.output import console
from tasks import names

SOURCE = names.SERVICE_NAME
DETAIL_TYPE = "OrderEmailStatusChanged"  # workflow/status_events_spec.py (not imported: no CDK here)
STATUSES = tuple(s for s in names.LEDGER_STATUSES if s != "PROCESSING")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "events", parents=parents, help="follow the order status events (OrderEmailStatusChanged)",
        description="Print each OrderEmailStatusChanged event as it happens, through a temporary queue and rule "
                    "on the status bus, removed again on exit. Needs a stack with status events on "
                    "(context statusEvents=true, or `ordermail local --status-events`).")
    parser.add_argument("--follow", action="store_true", required=True, help="keep printing events until Ctrl-C")
    parser.add_argument("--status", action="append", choices=STATUSES, metavar="S",
                        help=f"only these statuses (repeatable): {', '.join(STATUSES)}")
    parser.add_argument("--max", type=int, default=None, metavar="N", help="stop after N events")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    parser.set_defaults(func=run)


class Follower:
    """The temporary queue + rule, and the events they receive (a context manager: cleans up)."""

    def __init__(self, ctx: AwsContext, statuses: list[str] | None = None) -> None:
        self.ctx = ctx
        self.statuses = statuses
        suffix = uuid.uuid4().hex[:8]
        self.name = f"{names.SERVICE_NAME}-{ctx.env}-follow-{suffix}"
        self.bus = ""
        self.queue_url: str | None = None
        self.rule_created = False

    def __enter__(self) -> Follower:
        bus = self.ctx.outputs.get("StatusEventBusName")
        if not bus:
            raise CliError(f"stack {self.ctx.stack_name} has no output StatusEventBusName: status events are off "
                           "(deploy with -c statusEvents=true, or run `ordermail local --status-events`)")
        self.bus = bus
        sqs, events = self.ctx.client("sqs"), self.ctx.client("events")
        try:
            self.queue_url = sqs.create_queue(QueueName=self.name, Attributes={
                "MessageRetentionPeriod": "3600", "SqsManagedSseEnabled": "true"})["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            pattern: dict[str, Any] = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}
            if self.statuses:
                pattern["detail"] = {"status": sorted(set(self.statuses))}
            rule_arn = events.put_rule(Name=self.name, EventBusName=bus, EventPattern=json.dumps(pattern),
                                       Description="ordermail events --follow (temporary)")["RuleArn"]
            self.rule_created = True
            sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "ThisRuleOnly", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }],
            })})
            events.put_targets(Rule=self.name, EventBusName=bus, Targets=[{"Id": "follow", "Arn": queue_arn}])
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the rule (its target first) and the queue; idempotent."""
        events, sqs = self.ctx.client("events"), self.ctx.client("sqs")
        if self.rule_created:
            events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["follow"])
            events.delete_rule(Name=self.name, EventBusName=self.bus)
            self.rule_created = False
        if self.queue_url:
            sqs.delete_queue(QueueUrl=self.queue_url)
            self.queue_url = None

    def receive(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        """The events that arrived (each deleted once read), oldest first."""
        sqs = self.ctx.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=wait_seconds).get("Messages", [])
        received = []
        for message in messages:
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return sorted(received, key=lambda e: str(e.get("detail", {}).get("at", "")))

    def follow(self, *, duration: float | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        deadline = None if duration is None else time.monotonic() + duration
        count = 0
        while (deadline is None or time.monotonic() < deadline) and (limit is None or count < limit):
            for event in self.receive():
                yield event
                count += 1
                if limit is not None and count >= limit:
                    return


def drain(follower: Follower, *, quiet_polls: int = 2) -> list[dict[str, Any]]:
    """Everything that arrived until the queue stays empty for `quiet_polls` receives (the demo's use)."""
    received: list[dict[str, Any]] = []
    quiet = 0
    while quiet < quiet_polls:
        batch = follower.receive(wait_seconds=1)
        received += batch
        quiet = 0 if batch else quiet + 1
    return sorted(received, key=lambda e: str(e.get("detail", {}).get("at", "")))


def line(event: dict[str, Any]) -> str:
    """One event as a line: time, order, previous → status, then what is known about it."""
    d = event.get("detail", {})
    extra = " ".join(f"{k}={d[k]}" for k in ("sesMessageId", "reason", "bounceType", "bounceSubType") if d.get(k))
    previous = d.get("previousStatus") or "-"
    return f"{d.get('at', '?')}  {d.get('orderId', '?')}  {previous} -> {d.get('status', '?')}  {extra}".rstrip()


def run(args: argparse.Namespace) -> int:
    if args.max is not None and args.max < 1:
        raise UsageError("--max: expected 1 or more")
    ctx = AwsContext.from_args(args)
    out = console()

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # the same clean exit as Ctrl-C

    main = threading.current_thread() is threading.main_thread()  # signal handlers: main thread only
    previous = signal.signal(signal.SIGTERM, on_term) if main else None
    try:
        with Follower(ctx, args.status) as follower:
            if not args.json:
                out.print(f"following {DETAIL_TYPE} on bus {follower.bus} (Ctrl-C to stop)", markup=False)
            try:
                for event in follower.follow(duration=args.duration, limit=args.max):
                    if args.json:
                        print(json.dumps(event, ensure_ascii=False), flush=True)
                    else:
                        out.print(line(event), markup=False, highlight=False)
            except KeyboardInterrupt:
                pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK
