"""`ordermail replay`: run failed orders again with their stored request (Express has no redrive).

A replay is an ordinary new execution: the workflow's claim only takes FAILED, INVALID or
expired-PROCESSING orders, so a replay can never send a second mail for an order that went out.
The CLI checks the same rule first, to say clearly why it refuses instead of queueing a no-op.
"""

from __future__ import annotations

import argparse
from typing import Any

from ordermail.cli import requeue
from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_FAILED, EXIT_OK, Refused, UsageError
from ordermail.cli.ledger import Ledger
from ordermail.cli.output import console, err_console, print_json, progress, status_text, table
from ordermail.cli.timeutil import iso, now, parse_since
from tasks import names
from tasks.domain.ledger_view import request_body

from .status import parse_statuses

INVALID_NOTE = ("the stored request was invalid: unless the order service fixed the data behind it, "
                "it will be recorded INVALID again")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("replay", parents=parents, help="replay a failed order, or all failed since a time",
                            description="Send the stored request of FAILED (or INVALID, or stuck PROCESSING) "
                                        "orders back to the orders queue. Orders whose mail went out are refused: "
                                        "use `ordermail resend --reason` for a deliberate copy.")
    parser.add_argument("order_id", nargs="?", metavar="ORDER_ID")
    parser.add_argument("--status", dest="status_filter", metavar="STATUS[,STATUS]",
                        help="bulk: replay orders in these statuses (FAILED, INVALID, PROCESSING)")
    parser.add_argument("--since", help="bulk: updated since 24h, 30m, 7d or an ISO time (default 24h)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed, send nothing")
    parser.set_defaults(func=run)


def _replay_attributes() -> dict[str, str]:
    return {names.REPLAY_ATTRIBUTE: iso(now())}


def run_one(args: argparse.Namespace, ctx: AwsContext) -> int:
    item = Ledger(ctx).require(args.order_id)
    refusal = requeue.replay_refusal(item)
    if refusal:
        raise Refused(refusal)
    note = INVALID_NOTE if item.get("status") == "INVALID" else None
    result: dict[str, Any] = {"orderId": args.order_id, "previousStatus": item.get("status"), "dryRun": args.dry_run}
    if note:
        result["note"] = note
    if not args.dry_run:
        result["messageId"] = requeue.send(ctx, request_body(item) or "", _replay_attributes())
    if args.json:
        print_json(result)
        return EXIT_OK
    out = console()
    verb = "would replay" if args.dry_run else "replay queued for"
    out.print(f"{verb} order {args.order_id} (was {item.get('status')})", markup=False)
    if note:
        err_console().print(f"note: {note}", markup=False)
    if not args.dry_run:
        out.print(f"follow it with: ordermail status {args.order_id}", markup=False)
    return EXIT_OK


def run_bulk(args: argparse.Namespace, ctx: AwsContext) -> int:
    statuses = parse_statuses(args.status_filter or "FAILED", requeue.REPLAYABLE)
    since = parse_since(args.since or "24h")
    items = Ledger(ctx).by_status(statuses, since)
    todo: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for item in items:
        refusal = requeue.replay_refusal(item)
        row = {"orderId": item.get(names.LEDGER_PARTITION_KEY), "status": item.get("status"),
               "updatedAt": item.get("updatedAt"), "lastError": item.get("lastError") or item.get("invalidReason")}
        if refusal:
            skipped.append({**row, "reason": refusal})
        else:
            todo.append({**row, "request": request_body(item)})
    replayed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    if not args.dry_run:
        with progress(len(todo), "replaying") as bar:
            task = bar.add_task("replaying", total=len(todo))
            for row in todo:
                try:
                    message_id = requeue.send(ctx, str(row["request"]), _replay_attributes())
                    replayed.append({**row, "messageId": message_id})
                except Exception as exc:  # report every order, keep going: the summary says what failed
                    failed.append({**row, "error": str(exc)})
                bar.advance(task)
    public = [{k: v for k, v in row.items() if k != "request"} for row in (todo if args.dry_run else replayed)]
    summary = {"statuses": statuses, "since": iso(since), "dryRun": args.dry_run, "matched": len(items),
               "replayed" if not args.dry_run else "wouldReplay": public,
               "skipped": skipped, "failed": [{k: v for k, v in r.items() if k != "request"} for r in failed]}
    if args.json:
        print_json(summary)
    else:
        out = console()
        if public:
            title = "Would replay" if args.dry_run else "Replayed"
            out.print(table(title, ("order", "status", "updated", "last error / reason"),
                            [(r["orderId"], status_text(r["status"]), r["updatedAt"], r["lastError"]) for r in public]))
        if skipped:
            out.print(table("Skipped", ("order", "status", "why"),
                            [(r["orderId"], status_text(r["status"]), r["reason"]) for r in skipped]))
        if failed:
            out.print(table("Failed to queue", ("order", "error"), [(r["orderId"], r["error"]) for r in failed]))
        verb = "would replay" if args.dry_run else "replayed"
        out.print(f"{', '.join(statuses)} since {iso(since)}: {len(items)} matched, {verb} {len(public)}, "
                  f"skipped {len(skipped)}" + (f", failed {len(failed)}" if failed else ""), markup=False)
        if "INVALID" in statuses and public:
            err_console().print(f"note: for INVALID orders, {INVALID_NOTE}", markup=False)
    return EXIT_FAILED if failed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.order_id and (args.status_filter or args.since):
        raise UsageError("give either ORDER_ID or --status/--since, not both")
    ctx = AwsContext.from_args(args)
    if args.order_id:
        return run_one(args, ctx)
    if not (args.status_filter or args.since):
        raise UsageError("give ORDER_ID, or --status FAILED --since 24h for a bulk replay")
    return run_bulk(args, ctx)
