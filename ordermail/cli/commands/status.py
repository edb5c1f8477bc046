"""`ordermail status ORDER_ID` (one order) and `ordermail status --status FAILED --since 24h` (a list)."""

from __future__ import annotations

import argparse
from typing import Any

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_OK, UsageError
from ordermail.cli.ledger import Ledger, order_view
from ordermail.cli.output import err_console, print_json, render_order_list, render_status
from ordermail.cli.timeutil import iso, parse_since
from tasks import names


def parse_statuses(text: str, allowed: tuple[str, ...] = names.LEDGER_STATUSES) -> list[str]:
    statuses = [s.strip().upper() for s in text.split(",") if s.strip()]
    unknown = [s for s in statuses if s not in allowed]
    if unknown or not statuses:
        raise UsageError(f"--status {text!r}: expected one or more of {', '.join(allowed)} (comma-separated)")
    return statuses


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", parents=parents, help="an order's ledger status, or orders by status",
                            description="One order: status, SES message id, attempts and SES events. "
                                        "With --status: the orders in that status updated since --since.")
    parser.add_argument("order_id", nargs="?", metavar="ORDER_ID")
    parser.add_argument("--status", dest="status_filter", metavar="STATUS[,STATUS]",
                        help="list orders in these statuses: the byListedStatus index for "
                             f"{', '.join(names.LEDGER_LISTED_STATUSES)}; a table scan for the others")
    parser.add_argument("--since", default="24h", help="with --status: 24h, 30m, 7d or an ISO time (default 24h)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.order_id) == bool(args.status_filter):
        raise UsageError("give either ORDER_ID or --status STATUS (with --since)")
    ctx = AwsContext.from_args(args)
    ledger = Ledger(ctx)
    if args.order_id:
        view = order_view(ledger.require(args.order_id), local=ctx.is_local)
        if args.json:
            print_json(view)
        else:
            render_status(view)
        return EXIT_OK
    statuses = parse_statuses(args.status_filter)
    since = parse_since(args.since)
    scanned = [status for status in statuses if status not in names.LEDGER_LISTED_STATUSES]
    if scanned:  # on stderr: `--json` output stays one document
        err_console().print(f"{', '.join(scanned)} {'is' if len(scanned) == 1 else 'are'} not in the sparse status "
                            "index (docs/LEDGER.md): scanning the whole table, one read unit per 8 KB", soft_wrap=True)
    views = [order_view(item, local=ctx.is_local) for item in ledger.by_status(statuses, since)]
    if args.json:
        print_json({"statuses": statuses, "since": iso(since), "count": len(views), "orders": views})
    else:
        render_order_list(views, f"{', '.join(statuses)} since {iso(since)}: {len(views)} order(s)")
    return EXIT_OK
