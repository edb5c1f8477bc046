"""`ordermail history ORDER_ID`: every attempt and step, oldest first, with console links.

Express executions have no history API: the ledger's timeline is the per-order history, and the
step-level detail lives in CloudWatch Logs — so each attempt comes with the console link for the
Express execution and the Logs Insights query that finds its log events.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_OK
from ordermail.cli.ledger import Ledger, order_view
from ordermail.cli.output import (
    console,
    event_details,
    print_json,
    short_execution,
    sort_key,
    status_text,
    table,
    timeline_details,
)
from tasks import names

INSIGHTS_QUERY = "fields @timestamp, type, details.name | filter execution_arn = '{arn}' | sort @timestamp asc"
# A successful attempt keeps only the execution's name (docs/LEDGER.md); its log lines exist only
# at executionLogLevel ALL, and an ARN ends with ":<name>:<run id>".
INSIGHTS_QUERY_BY_NAME = ("fields @timestamp, type, details.name | filter execution_arn like ':{name}:' "
                          "| sort @timestamp asc")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("history", parents=parents, help="every attempt and step of an order, with console links",
                            description="The order's timeline (workflow attempts) and SES events in time order; "
                                        "per attempt, the Step Functions console link and the Logs Insights query.")
    parser.add_argument("order_id", metavar="ORDER_ID")
    parser.set_defaults(func=run)


def entries(view: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    """Workflow timeline and SES events merged, oldest first (stable for equal times)."""
    rows: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = view.get("timeline") or item.get("timeline") or []
    for entry in timeline:
        rows.append({"source": "workflow", "at": entry.get("at"), "type": entry.get("type"),
                     "executionArn": entry.get("executionArn") or entry.get("execution"),
                     "details": timeline_details(entry)})
    for event in view.get("events") or []:
        rows.append({"source": "SES", "at": event.get("at"), "type": event.get("type"),
                     "executionArn": None, "details": event_details(event)})
    return sorted(rows, key=lambda row: sort_key(row["at"]))


def attempt_links(ctx: AwsContext, attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    log_group = names.resource_names(ctx.env)["execution_log_group"]
    linked = []
    for attempt in attempts:
        arn = attempt.get("executionArn") or ""
        name = attempt.get("execution") or ""
        row = dict(attempt)
        if ctx.is_local or not (arn or name):
            row["consoleUrl"] = None  # the local runtime has no console
        elif arn:
            row["logsInsights"] = {"logGroup": log_group, "query": INSIGHTS_QUERY.format(arn=arn)}
        else:
            row["logsInsights"] = {"logGroup": log_group, "query": INSIGHTS_QUERY_BY_NAME.format(name=name)}
        linked.append(row)
    return linked


def run(args: argparse.Namespace) -> int:
    return show(AwsContext.from_args(args), args.order_id, as_json=args.json)


def show(ctx: AwsContext, order_id: str, *, as_json: bool = False) -> int:
    item = Ledger(ctx).require(order_id)
    view = order_view(item, local=ctx.is_local)
    rows = entries(view, item)
    attempts = attempt_links(ctx, list(view.get("attempts") or []))
    if as_json:
        print_json({"orderId": view.get("orderId"), "status": view.get("status"), "entries": rows,
                    "attempts": attempts})
        return EXIT_OK
    out = console()
    out.print(Text.assemble(("History of order ", "bold"), (str(view.get("orderId")), "bold"), "  ",
                            status_text(view.get("status"))))
    out.print(table(None, ("at", "source", "step / event", "execution", "details"),
                    [(r["at"], r["source"], r["type"], short_execution(r["executionArn"]), r["details"])
                     for r in rows]))
    for number, attempt in enumerate(attempts, 1):
        out.print(Text.assemble((f"Attempt {number}", "bold"), "  ", status_text(attempt.get("outcome")),
                                f"  {attempt.get('startedAt') or '-'} → {attempt.get('endedAt') or '-'}"))
        out.print(f"  execution  {attempt.get('executionArn') or attempt.get('execution') or '-'}",
                  soft_wrap=True, markup=False)
        if attempt.get("error"):
            out.print(f"  error      {attempt['error']}", soft_wrap=True, markup=False)
        if attempt.get("consoleUrl"):
            out.print(f"  console    {attempt['consoleUrl']}", soft_wrap=True, markup=False)
        if "logsInsights" in attempt:
            insights = attempt["logsInsights"]
            out.print(f"  logs       Logs Insights on {insights['logGroup']}:", soft_wrap=True, markup=False)
            out.print(f"             {insights['query']}", soft_wrap=True, markup=False)
    if ctx.is_local and attempts:
        out.print("(local endpoint: console links and Logs Insights queries apply to AWS deployments)")
    return EXIT_OK
