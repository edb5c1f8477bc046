"""The cost model: what ordermail costs per 1,000 mails and per month, by service.

Inputs are *per-e-mail resource counts* (API calls, billed durations, bytes) and the price table
in `ordermail/prices.json` (the one place prices live). `DEFAULT_COUNTS` is a documented estimate
of one ordinary order (sent, then its Delivery event); the benchmark measures the same counts
on the embedded runtime and passes them as a JSON file (`ordermail cost --counts FILE`) or to
`estimate(counts, ...)` directly. A counts file may give only some keys: the rest keep their
defaults; an unknown key is an error (a typo must not silently fall back to the estimate).

Counts (per e-mail unless the key says otherwise):
  sns_publishes             orders-topic publishes (1)
  ses_event_notifications   SES → SNS event publishes on the ses-events topic (Delivery = 1; the
                            configuration set does not publish Send events)
  sqs_requests              SNS→SQS SendMessage + the Pipe's ReceiveMessage and DeleteMessage (3)
  pipes_requests            Pipe requests (1; batch size 1)
  stepfunctions_requests    Express executions (1)
  stepfunctions_duration_ms mean execution duration; billed rounded up to 100 ms (an approximation:
                            AWS rounds each execution, so use the mean of billed durations if known)
  stepfunctions_memory_mb   billed memory, in 64 MB steps (64 for payloads this small)
  lambda                    {function: {invocations, duration_ms, memory_mb, architecture}}
  dynamodb_write_units      WCUs incl. index writes (items ~2 KB: 2 WCU per write; Claim, RecordSent,
                            Delivery; plus the byStatus index re-keyed on each status/updatedAt change),
                            and the send-pacing table's (one per mail; two while a burst waits)
  dynamodb_read_units       RCUs (the feedback processor's reads)
  ses_mails                 mails sent (1)
  log_bytes                 CloudWatch Logs ingestion (Lambda platform + Powertools lines + EMF;
                            Express logs at level ERROR write nothing for a successful execution,
                            at level ALL with execution data about 30 KB more)
  xray_traces               trace-starting requests (state machine executions; the feedback function
                            only passes traces through); recorded under the stack's sampling rule
                            (fixed.xray_reservoir_per_s, fixed.xray_fixed_rate: -c traceSampleRate)
  ledger_item_kb            ledger item plus index entries
  delivered_share           share of mails whose order ends DELIVERED: kept `delivered_retention_days`,
                            the others `retention_days` (status.Retention)
Fixed (per month): dashboards, alarms, custom_metrics (each metric name x dimension set),
  kms_keys, kms_requests (the customer key: SNS reuses a data key for 5 minutes per topic and
  publishing principal, 2 calls each (AWS's SNS formula): 2 topics x 8,640 x 2; the queues reuse
  theirs for 24 hours (the maximum): 2 x 30 x 2 — an upper bound, reached only with traffic every
  5 minutes),
  xray_reservoir_per_s, xray_fixed_rate (the state machine's X-Ray sampling rule),
  pipe_idle_receives (the Pipe long-polls the queue even when idle: estimate, 5 pollers x one 20 s
  poll, 30 days), retention_days (ledger TTL of orders that need a look), delivered_retention_days
  (ledger TTL after a Delivery), log_retention_days, log_compression (stored log
  bytes per ingested byte).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from tasks import names

PRICES_PATH: Final = Path(__file__).with_name("prices.json")
DAYS_PER_MONTH: Final = 30
SCENARIOS_PER_DAY: Final = (2_000, 20_000, 200_000)
# Reference points from the brief: an existing CDK implementation of the same problem claims this
# monthly figure at 2,000 mails a day; SES alone is the floor nothing can go under.
CI_TS_CLAIM_MONTHLY_USD_AT_2000: Final = 9.26
GB: Final = 1024**3

# The EMF metrics the handlers publish (Powertools, one dimension set each: service), as named in
# tasks/names.py; each metric name x dimension set is one custom metric.
CUSTOM_METRICS: Final = tuple(value for key, value in sorted(vars(names).items()) if key.startswith("METRIC_"))
# workflow/observability.py: SES bounce and complaint rate, execution failures and the SES daily quota,
# the orders and feedback DLQs, the oldest order in the queue, errors of three functions (not the
# status API's: UNALARMED_FUNCTIONS there).
ALARMS: Final = 2 + 2 + 2 + 1 + 3

DEFAULT_COUNTS: Final[dict[str, Any]] = {
    "per_email": {
        "sns_publishes": 1,
        "ses_event_notifications": 1,
        "sqs_requests": 3,
        "pipes_requests": 1,
        "stepfunctions_requests": 1,
        "stepfunctions_duration_ms": 450,
        "stepfunctions_memory_mb": 64,
        "lambda": {
            # Mean billed durations include a share of cold starts (INIT is billed too).
            "validate": {"invocations": 1, "duration_ms": 60, "memory_mb": 256, "architecture": "arm64"},
            "render": {"invocations": 1, "duration_ms": 80, "memory_mb": 512, "architecture": "arm64"},
            "feedback": {"invocations": 1, "duration_ms": 60, "memory_mb": 256, "architecture": "arm64"},
        },
        "dynamodb_write_units": 12,
        "dynamodb_read_units": 1,
        "ses_mails": 1,
        "log_bytes": 4_500,
        "xray_traces": 1,
        "ledger_item_kb": 3,
        "delivered_share": 0.97,
    },
    "fixed": {
        "dashboards": 1,
        "alarms": ALARMS,
        "custom_metrics": len(CUSTOM_METRICS),
        "kms_keys": 1,
        "kms_requests": 2 * (DAYS_PER_MONTH * 86_400 // 300) * 2 + 2 * DAYS_PER_MONTH * 2,
        "pipe_idle_receives": 5 * (86_400 // 20) * DAYS_PER_MONTH,
        "xray_reservoir_per_s": 0,
        "xray_fixed_rate": names.TRACE_SAMPLE_RATE,
        "retention_days": int(names.CONTEXT_DEFAULTS["retentionDays"]),  # type: ignore[call-overload]
        "delivered_retention_days": names.DELIVERED_RETENTION_DAYS,
        "log_retention_days": 30,
        "log_compression": 0.15,
    },
    "source": "estimate (ordermail/cost.py DEFAULT_COUNTS); `make bench` measures them",
}


class CountsError(ValueError):
    """A counts file with unknown keys or values that are not numbers."""


@cache
def _load_prices(path: str) -> dict[str, Any]:
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def load_prices(path: Path | None = None) -> dict[str, Any]:
    return copy.deepcopy(_load_prices(str(path or PRICES_PATH)))


def merge_counts(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with a (possibly partial) counts document; unknown keys are errors."""
    counts = copy.deepcopy(DEFAULT_COUNTS)
    if not overrides:
        return counts
    for section, values in overrides.items():
        if section == "source":
            counts["source"] = str(values)
            continue
        if section not in ("per_email", "fixed") or not isinstance(values, Mapping):
            raise CountsError(f"unknown counts section {section!r} (expected per_email, fixed, source)")
        for key, value in values.items():
            if key not in counts[section]:
                raise CountsError(f"unknown count {section}.{key}")
            if key == "lambda":
                if not isinstance(value, Mapping):
                    raise CountsError("per_email.lambda must map function names to their counts")
                counts[section]["lambda"] = {name: _lambda_counts(name, spec) for name, spec in value.items()}
            else:
                counts[section][key] = _number(f"{section}.{key}", value)
    return counts


def _number(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or math.isnan(value):
        raise CountsError(f"{label} must be a non-negative number, got {value!r}")
    return value


def _lambda_counts(name: str, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise CountsError(f"per_email.lambda.{name} must be an object")
    result: dict[str, Any] = {"invocations": 1, "duration_ms": 0, "memory_mb": 128, "architecture": "arm64"}
    for key, value in spec.items():
        if key == "architecture":
            if value not in ("arm64", "x86_64"):
                raise CountsError(f"per_email.lambda.{name}.architecture must be arm64 or x86_64")
            result[key] = value
        elif key in result:
            result[key] = _number(f"per_email.lambda.{name}.{key}", value)
        else:
            raise CountsError(f"unknown count per_email.lambda.{name}.{key}")
    return result


def load_counts(path: Path) -> dict[str, Any]:
    """A counts JSON: either the `counts` document itself or a benchmark report holding one."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(document, Mapping) and isinstance(document.get("counts"), Mapping):
        document = document["counts"]
    if not isinstance(document, Mapping):
        raise CountsError(f"{path}: expected a JSON object of counts")
    return merge_counts(document)


def xray_recorded_per_month(trace_starts_per_day: float, *, reservoir_per_s: float = 1.0,
                            fixed_rate: float = 0.05) -> float:
    """Traces a sampling rule records: the first `reservoir_per_s` requests each second, then
    `fixed_rate` of the rest (the defaults are X-Ray's default rule).

    Assumes an even load (bursts record fewer, so this is an upper bound for bursty traffic).
    """
    rate = trace_starts_per_day / 86_400
    per_second = min(rate, reservoir_per_s) + fixed_rate * max(rate - reservoir_per_s, 0.0)
    return per_second * 86_400 * DAYS_PER_MONTH


def variable_monthly(counts: Mapping[str, Any], per_day: float, prices: Mapping[str, Any],
                     *, free_tier: bool) -> dict[str, float]:
    """Monthly cost by service of the volume-driven resources at `per_day` mails a day."""
    e = counts["per_email"]
    f = counts["fixed"]
    mails = per_day * DAYS_PER_MONTH
    sfn = prices["stepfunctions_express"]
    billed_ms = math.ceil(e["stepfunctions_duration_ms"] / sfn["duration_granularity_ms"]) * sfn["duration_granularity_ms"]
    memory_gb = math.ceil(e["stepfunctions_memory_mb"] / sfn["memory_chunk_mb"]) * sfn["memory_chunk_mb"] / 1024
    sfn_gb_s = e["stepfunctions_requests"] * memory_gb * billed_ms / 1000

    lam = prices["lambda"]
    lambda_usd = 0.0
    for spec in e["lambda"].values():
        gb_s = spec["invocations"] * (spec["memory_mb"] / 1024) * math.ceil(spec["duration_ms"]) / 1000
        lambda_usd += spec["invocations"] * lam["per_million_requests"] / 1e6
        lambda_usd += gb_s * lam[f"per_gb_second_{spec['architecture']}"]

    ddb = prices["dynamodb"]
    # Steady state: an item lives its retention (TTL), so the table holds per_day x retention items.
    kept_days = (e["delivered_share"] * f["delivered_retention_days"]
                 + (1 - e["delivered_share"]) * f["retention_days"])
    stored_gb = per_day * kept_days * e["ledger_item_kb"] * 1024 / GB
    cw = prices["cloudwatch"]
    allowance = prices["always_free"]["cloudwatch"] if free_tier else {}
    logs_gb = mails * e["log_bytes"] / GB
    logs_stored_gb = logs_gb * f["log_compression"] * f["log_retention_days"] / DAYS_PER_MONTH
    return {
        "ses": mails * e["ses_mails"] * prices["ses"]["per_1000_mails"] / 1000,
        "sns": mails * (e["sns_publishes"] + e["ses_event_notifications"]) * prices["sns"]["per_million_publishes"] / 1e6,
        "sqs": mails * e["sqs_requests"] * prices["sqs"]["per_million_requests"] / 1e6,
        "pipes": mails * e["pipes_requests"] * prices["pipes"]["per_million_requests"] / 1e6,
        "stepfunctions": mails * (e["stepfunctions_requests"] * sfn["per_million_requests"] / 1e6
                                  + sfn_gb_s * sfn["per_gb_second"]),
        "lambda": mails * lambda_usd,
        "dynamodb": mails * (e["dynamodb_write_units"] * ddb["per_million_write_units"]
                             + e["dynamodb_read_units"] * ddb["per_million_read_units"]) / 1e6
                    + stored_gb * (ddb["storage_per_gb_month"] + ddb["pitr_per_gb_month"]),
        "cloudwatch_logs": max(0.0, logs_gb - allowance.get("logs_ingestion_gb", 0)) * cw["logs_ingestion_per_gb"]
                           + max(0.0, logs_stored_gb - allowance.get("logs_storage_gb", 0)) * cw["logs_storage_per_gb_month"],
        "xray": xray_recorded_per_month(per_day * e["xray_traces"], reservoir_per_s=f["xray_reservoir_per_s"],
                                        fixed_rate=f["xray_fixed_rate"]) * prices["xray"]["per_million_traces"] / 1e6,
    }


def fixed_monthly(counts: Mapping[str, Any], prices: Mapping[str, Any], *, free_tier: bool) -> dict[str, float]:
    """What the stack costs per month whether or not it sends anything."""
    f = counts["fixed"]
    cw = prices["cloudwatch"]
    allowance = prices["always_free"]["cloudwatch"] if free_tier else {}
    return {
        "cloudwatch_dashboard": max(0, f["dashboards"] - allowance.get("dashboards", 0)) * cw["dashboard_per_month"],
        "cloudwatch_alarms": max(0, f["alarms"] - allowance.get("alarms", 0)) * cw["alarm_per_month"],
        "cloudwatch_metrics": max(0, f["custom_metrics"] - allowance.get("custom_metrics", 0)) * cw["custom_metric_per_month"],
        "kms": f["kms_keys"] * prices["kms"]["customer_key_per_month"]
               + f["kms_requests"] * prices["kms"]["per_10000_requests"] / 10_000,
        "sqs_idle_polling": f["pipe_idle_receives"] * prices["sqs"]["per_million_requests"] / 1e6,
    }


def monthly(counts: Mapping[str, Any], per_day: float, prices: Mapping[str, Any], *, free_tier: bool) -> dict[str, Any]:
    variable = variable_monthly(counts, per_day, prices, free_tier=free_tier)
    fixed = fixed_monthly(counts, prices, free_tier=free_tier)
    return {
        "per_day": per_day,
        "mails": per_day * DAYS_PER_MONTH,
        "variable_usd": variable,
        "fixed_usd": fixed,
        "variable_total_usd": sum(variable.values()),
        "fixed_total_usd": sum(fixed.values()),
        "total_usd": sum(variable.values()) + sum(fixed.values()),
    }


def estimate(counts: Mapping[str, Any] | None = None, per_day: float = 2_000, free_tier: bool = True,
             prices: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole cost picture. `counts` may be partial (merged over DEFAULT_COUNTS).

    `free_tier` selects whether `monthly` applies CloudWatch's always-free allowances; the
    `*_at_2000_per_day` keys give both variants regardless.
    """
    merged = merge_counts(counts if counts is None or "per_email" in counts or "fixed" in counts
                          else {"per_email": counts})
    table = dict(prices) if prices is not None else load_prices()
    # Per 1,000 mails: the marginal, volume-driven cost at list price (no allowances, no fixed cost).
    list_variable = variable_monthly(merged, per_day, table, free_tier=False)
    mails = per_day * DAYS_PER_MONTH
    per_1000 = {service: usd / mails * 1000 if mails else 0.0 for service, usd in list_variable.items()}
    scenario_days = list(SCENARIOS_PER_DAY) + ([per_day] if per_day not in SCENARIOS_PER_DAY else [])
    scenarios = []
    for day in scenario_days:
        with_free = monthly(merged, day, table, free_tier=True)
        at_list = monthly(merged, day, table, free_tier=False)
        scenarios.append({
            "per_day": day,
            "mails": with_free["mails"],
            "variable_usd": with_free["variable_total_usd"],
            "fixed_usd": with_free["fixed_total_usd"],
            "total_usd": with_free["total_usd"],
            "variable_usd_list_price": at_list["variable_total_usd"],
            "fixed_usd_list_price": at_list["fixed_total_usd"],
            "total_usd_list_price": at_list["total_usd"],
        })
    at_2000 = monthly(merged, 2_000, table, free_tier=True)["total_usd"]
    at_2000_list = monthly(merged, 2_000, table, free_tier=False)["total_usd"]
    ses_floor = float(table["ses"]["per_1000_mails"])
    per_1000_total = sum(per_1000.values())
    return {
        "prices": {"as_of": table.get("as_of"), "region": table.get("region"), "source": table.get("source")},
        "per_day": per_day,
        "days_per_month": DAYS_PER_MONTH,
        "free_tier": free_tier,
        "per_1000_mails_usd": per_1000_total,
        "per_1000_mails_by_service_usd": per_1000,
        "ses_floor_per_1000_usd": ses_floor,
        "ratio_to_ses_floor": per_1000_total / ses_floor if ses_floor else None,
        "monthly": monthly(merged, per_day, table, free_tier=free_tier),
        "scenarios": scenarios,
        "monthly_usd_at_2000_per_day": at_2000,
        "monthly_usd_at_2000_per_day_list_price": at_2000_list,
        "reference": {
            "ses_only_monthly_usd_at_2000_per_day": ses_floor * 2_000 * DAYS_PER_MONTH / 1000,
            "ci_ts_claim_monthly_usd_at_2000_per_day": CI_TS_CLAIM_MONTHLY_USD_AT_2000,
        },
        "counts": merged,
        "notes": [
            f"{DAYS_PER_MONTH}-day month; us-east-1 list prices from ordermail/prices.json",
            "per 1,000 mails: volume-driven cost at list price (no allowances, no fixed cost)",
            "with free tier: CloudWatch's always-free allowances (3 dashboards, 10 alarms, 10 custom metrics, "
            "5 GB logs) — they are per account, so other workloads may already use them",
            str(table.get("always_free", {}).get("not_applied", "")),
            "custom metrics are billed only for hours they are published; the count is an upper bound",
        ],
    }
