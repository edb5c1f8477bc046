"""`ordermail cost`: monthly cost by service from the cost model (ordermail/cost.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.text import Text

from ordermail import cost
from ordermail.cli.errors import EXIT_OK, UsageError
from ordermail.cli.output import console, print_json, table

SERVICE_LABELS = {
    "ses": "SES (mail)",
    "sns": "SNS (orders + SES events)",
    "sqs": "SQS",
    "pipes": "EventBridge Pipes",
    "stepfunctions": "Step Functions Express",
    "lambda": "Lambda (arm64)",
    "dynamodb": "DynamoDB (writes, reads, storage, PITR)",
    "cloudwatch_logs": "CloudWatch Logs",
    "xray": "X-Ray traces",
    "cloudwatch_dashboard": "CloudWatch dashboard",
    "cloudwatch_alarms": "CloudWatch alarms",
    "cloudwatch_metrics": "CloudWatch custom metrics (EMF)",
    "kms": "KMS customer key + requests",
    "sqs_idle_polling": "SQS idle polling by the Pipe",
}


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("cost", parents=parents, help="monthly cost by service from the cost model",
                            description="Cost per 1,000 mails and per month, by service, from per-e-mail "
                                        "resource counts (a documented estimate, or measured: --counts).")
    parser.add_argument("--per-day", type=float, default=2000, metavar="N", help="mails a day (default 2000)")
    parser.add_argument("--counts", type=Path, metavar="FILE", help="per-e-mail counts as JSON (the benchmark's)")
    parser.add_argument("--list-price", action="store_true",
                        help="the main figure at list price, without CloudWatch's always-free allowances")
    parser.set_defaults(func=run)


def _usd(value: float, digits: int = 2) -> str:
    return f"${value:,.{digits}f}"


def run(args: argparse.Namespace) -> int:
    if args.per_day <= 0:
        raise UsageError("--per-day must be positive")
    counts = None
    if args.counts:
        try:
            counts = cost.load_counts(args.counts)
        except FileNotFoundError as exc:
            raise UsageError(f"{args.counts}: no such file") from exc
        except json.JSONDecodeError as exc:
            raise UsageError(f"{args.counts}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        except (cost.CountsError, OSError) as exc:
            raise UsageError(f"{args.counts}: {exc}") from exc
    per_day = int(args.per_day) if float(args.per_day).is_integer() else args.per_day
    result = cost.estimate(counts, per_day=per_day, free_tier=not args.list_price)
    if args.json:
        print_json(result)
        return EXIT_OK
    out = console()
    prices = result["prices"]
    out.print(Text(f"ordermail cost model — {prices['region']} list prices as of {prices['as_of']} "
                   f"(ordermail/prices.json); counts: {result['counts']['source']}", style="bold"))
    per_1000 = result["per_1000_mails_by_service_usd"]
    total = result["per_1000_mails_usd"]
    rows: list[tuple[Any, ...]] = [(SERVICE_LABELS.get(k, k), _usd(v, 4), f"{v / total:.0%}" if total else "-")
            for k, v in sorted(per_1000.items(), key=lambda kv: -kv[1])]
    rows.append((Text("total", style="bold"), Text(_usd(total, 4), style="bold"), ""))
    out.print(table(f"Per 1,000 mails (volume-driven, list price, at {per_day:,}/day)", ("service", "USD", "share"),
                    rows))
    scenarios = result["scenarios"]
    header = ["30-day month"] + [f"{s['per_day']:,}/day" for s in scenarios]
    out.print(table("Monthly totals", header, [
        ["mails", *[f"{s['mails']:,.0f}" for s in scenarios]],
        ["variable", *[_usd(s["variable_usd"]) for s in scenarios]],
        ["fixed, with CloudWatch free tier", *[_usd(s["fixed_usd"]) for s in scenarios]],
        [Text("total, with free tier", style="bold"), *[Text(_usd(s["total_usd"]), style="bold") for s in scenarios]],
        ["fixed, list price", *[_usd(s["fixed_usd_list_price"]) for s in scenarios]],
        [Text("total, list price", style="bold"),
         *[Text(_usd(s["total_usd_list_price"]), style="bold") for s in scenarios]],
    ]))
    month = result["monthly"]
    label = "list price" if args.list_price else "with CloudWatch free tier"
    by_service = {**month["variable_usd"], **month["fixed_usd"]}
    out.print(table(f"By service at {per_day:,}/day ({label})", ("service", "kind", "USD / month"),
                    [(SERVICE_LABELS.get(k, k), "fixed" if k in month["fixed_usd"] else "variable", _usd(v))
                     for k, v in sorted(by_service.items(), key=lambda kv: -kv[1])]
                    + [(Text("total", style="bold"), "", Text(_usd(month["total_usd"]), style="bold"))]))
    reference = result["reference"]
    out.print(f"SES-only floor: {_usd(result['ses_floor_per_1000_usd'])} per 1,000 mails "
              f"({_usd(reference['ses_only_monthly_usd_at_2000_per_day'])}/month at 2,000/day); ordermail: "
              f"{_usd(total, 4)} per 1,000 ({result['ratio_to_ses_floor']:.2f} times the floor).", markup=False)
    out.print(f"At 2,000/day: {_usd(result['monthly_usd_at_2000_per_day'])}/month with free tier, "
              f"{_usd(result['monthly_usd_at_2000_per_day_list_price'])} at list price; the existing CDK "
              f"implementation claims {_usd(reference['ci_ts_claim_monthly_usd_at_2000_per_day'])}.", markup=False)
    for note in result["notes"]:
        if note:
            out.print(f"- {note}", markup=False, style="dim")
    return EXIT_OK
