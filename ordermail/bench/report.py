"""From the runs' raw figures to the report: per-e-mail counts, the cost model, targets, JSON, Markdown."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from typing import Any, Final

from ordermail import cost

from . import flash
from .instruments import (
    LAMBDA_PLATFORM_BYTES_PER_INVOCATION,
    LOG_EVENT_OVERHEAD_BYTES,
    LOG_SETTINGS,
    percentiles,
)
from .run import BenchResult, PhaseResult

DASH = "\u2013"  # en dash: an empty cell
TIMES = "\u00d7"
SCHEMA: Final = 1
SES_TARGET_RATIO: Final = 1.10  # variable cost per mail ≤ 110 % of SES's own price
MONTHLY_TARGET_USD: Final = 7.90  # issue 13
LEDGER_WRITE_UNITS_TARGET: Final = 3.5  # issue 13: table plus index write units per mail, day run
THROUGHPUT_TARGET: Final = 3.0  # the runtime (IAM enforced) against stock moto
MEMORY_TARGET_MB: Final = 150.0  # over the 10,000-order burst
SERVICE_LABELS: Final = {
    "sns": "SNS", "sqs": "SQS", "pipes": "Pipes", "stepfunctions": "Step Functions", "lambda": "Lambda",
    "dynamodb": "DynamoDB", "ses": "SES", "cloudwatch": "CloudWatch",
}
# Which log setting keeps what viewable (the ledger keeps the per-order timeline in every case).
LOG_SETTING_NOTES: Final = {
    "ALL+data": "every step with its input and output in the console (Express execution view)",
    "ALL": "every step, no payloads",
    "ERROR+data": "failed executions with their data; successful ones only in the ledger timeline",
    "ERROR": "failed executions, no payloads",
    "FATAL+data": "only executions that failed as a whole",
    "FATAL": "only executions that failed as a whole, no payloads",
    "OFF": "nothing in CloudWatch; the ledger timeline only",
}


def _delta(after: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for service, actions in after.items():
        for action, value in actions.items():
            change = value - before.get(service, {}).get(action, 0)
            if change:
                out.setdefault(service, {})[action] = change
    return out


def _function_label(name: str) -> str:
    return name.rsplit("-", 1)[-1]


def per_mail(phase: PhaseResult) -> dict[str, Any]:
    """What one e-mail costs in requests, units, bytes and transitions, in this run's realistic mix.

    Everything the run did (duplicates, invalid inputs, retries after injected faults, redeliveries)
    divided by the mails SES accepted: the overheads of the mix are part of the price of a mail.
    """
    api = _delta(phase.after.api, phase.before.api)
    mails = max(1, phase.after.sent - phase.before.sent)
    totals = phase.totals
    executions = totals.executions if totals else phase.after.executions - phase.before.executions
    first_receives = totals.first_receives if totals else executions
    invocations: Counter[str] = Counter()
    for name, values in phase.invocations.items():
        invocations[_function_label(name)] = len(values["wall_ms"])
    sns_publishes = api.get("sns", {}).get("Publish", 0)
    ses_events = phase.after.ses_events - phase.before.ses_events
    receives = api.get("sqs", {}).get("ReceiveMessage", 0)
    deletes = api.get("sqs", {}).get("DeleteMessage", 0)
    sends = api.get("sqs", {}).get("SendMessage", 0)
    ddb = {action: count for action, count in api.get("dynamodb", {}).items() if action not in ("Scan", "DescribeTable")}
    lambda_invokes = api.get("awslambda", {}).get("Invoke", 0)
    calls = {
        "sns": sns_publishes,
        "sqs": first_receives + sends + executions + deletes,  # SNS→SQS deliveries, Pipe receives, deletes
        "pipes": executions,
        "stepfunctions": executions,  # StartSyncExecution, one per Pipe request
        "lambda": lambda_invokes + invocations.get("feedback", 0),  # state machine Invoke + SNS → feedback
        "dynamodb": sum(ddb.values()),
        "ses": api.get("sesv2", {}).get("SendEmail", 0),
        "cloudwatch": sum(api.get("cloudwatch", {}).values()),
    }
    capacity = phase.after.capacity
    before_capacity = phase.before.capacity
    write_units = capacity["write_units"] - before_capacity["write_units"]
    index_units = capacity["index_write_units"] - before_capacity["index_write_units"]
    pacing_units = capacity.get("pacing_write_units", 0.0) - before_capacity.get("pacing_write_units", 0.0)
    read_units = capacity["read_units"] - before_capacity["read_units"]
    log_lines = phase.after.log_lines - phase.before.log_lines
    log_bytes = phase.after.log_bytes - phase.before.log_bytes
    lambda_log_bytes = (log_bytes + LOG_EVENT_OVERHEAD_BYTES * log_lines
                        + LAMBDA_PLATFORM_BYTES_PER_INVOCATION * sum(invocations.values()))
    express = {}
    if totals and executions:
        for setting in LOG_SETTINGS:
            express[setting] = {
                "events_per_execution": totals.log_events[setting] / executions,
                "bytes_per_execution": totals.log_bytes[setting] / executions,
                "bytes_per_mail": totals.log_bytes[setting] / mails,
            }
    lambda_stats = {}
    for name, values in sorted(phase.invocations.items()):
        label = _function_label(name)
        wall = percentiles(values["wall_ms"])
        cpu = percentiles(values["cpu_ms"])
        lambda_stats[label] = {
            "invocations": len(values["wall_ms"]),
            "invocations_per_mail": len(values["wall_ms"]) / mails,
            "wall_ms": {k: wall.get(k) for k in ("p50", "p95", "p99", "mean")},
            "cpu_ms": {k: cpu.get(k) for k in ("p50", "p95", "p99", "mean")},
        }
    return {
        "mails": mails,
        "executions": executions,
        "api_calls_per_mail": {SERVICE_LABELS[key]: value / mails for key, value in calls.items()},
        "api_calls": {"sns_orders_publishes": phase.publish_count, "sns_ses_event_publishes": ses_events,
                      "sqs_messages_delivered_by_sns": first_receives, "sqs_send_message": sends,
                      "sqs_receives_with_a_message": executions, "sqs_empty_receives_local_poller":
                          max(0, receives - executions), "sqs_delete_message": deletes,
                      "lambda_invoke_from_state_machine": lambda_invokes,
                      "lambda_feedback_deliveries": invocations.get("feedback", 0),
                      "dynamodb": ddb, "ses_send_email_calls": calls["ses"], "ses_mails_accepted": mails,
                      "cloudwatch": api.get("cloudwatch", {})},
        "state_transitions_per_mail": (totals.transitions / mails) if totals else None,
        "state_transitions_per_execution": (totals.transitions / executions) if totals and executions else None,
        "dynamodb_units_per_mail": {"write": write_units / mails, "index_write": index_units / mails,
                                    "pacing_write": pacing_units / mails, "read": read_units / mails},
        "lambda": lambda_stats,
        "lambda_log_bytes_per_mail": lambda_log_bytes / mails,
        "lambda_log_lines_per_mail": log_lines / mails,
        "express_log": express,
        "ledger_item_bytes": percentiles([float(size) for size in phase.item_sizes]),
        "ses_events_per_mail": ses_events / mails,
        # Orders that end DELIVERED are kept deliveredRetentionDays, the others retentionDays.
        "delivered_share": (phase.verdict.statuses.get("DELIVERED", 0) / max(1, sum(phase.verdict.statuses.values()))
                            if phase.verdict else cost.DEFAULT_COUNTS["per_email"]["delivered_share"]),
    }


def cost_counts(usage: dict[str, Any], express_setting: str, phase_name: str) -> dict[str, Any]:
    """The cost model's per-e-mail counts from measured usage; durations stay the model's AWS estimates."""
    defaults = cost.DEFAULT_COUNTS["per_email"]
    calls = usage["api_calls"]
    mails = usage["mails"]
    lambda_counts = {}
    for label, spec in defaults["lambda"].items():
        measured = usage["lambda"].get(label)
        lambda_counts[label] = {**spec, "invocations": measured["invocations_per_mail"] if measured else 0}
    express_bytes = usage["express_log"].get(express_setting, {}).get("bytes_per_mail", 0.0)
    item = usage["ledger_item_bytes"]
    return {
        "per_email": {
            "sns_publishes": calls["sns_orders_publishes"] / mails,
            "ses_event_notifications": calls["sns_ses_event_publishes"] / mails,
            "sqs_requests": usage["api_calls_per_mail"]["SQS"],
            "pipes_requests": usage["api_calls_per_mail"]["Pipes"],
            "stepfunctions_requests": usage["api_calls_per_mail"]["Step Functions"],
            "lambda": lambda_counts,
            "dynamodb_write_units": usage["dynamodb_units_per_mail"]["write"]
            + usage["dynamodb_units_per_mail"]["index_write"]
            + usage["dynamodb_units_per_mail"].get("pacing_write", 0.0),
            "dynamodb_read_units": usage["dynamodb_units_per_mail"]["read"],
            "ses_mails": 1,
            "log_bytes": usage["lambda_log_bytes_per_mail"] + express_bytes,
            # Trace-starting requests: executions. The feedback function only passes traces through
            # (workflow/feedback.py), and the stack's sampling rule decides which executions are recorded.
            "xray_traces": usage["executions"] / mails,
            "ledger_item_kb": (item.get("mean") or 0) / 1024,  # index entries included (invariants.item_sizes)
            "delivered_share": usage["delivered_share"],
        },
        "source": f"measured by `make bench` ({phase_name} run, Express logs {express_setting}); "
                  "durations: the cost model's AWS estimates",
    }


def cost_section(usage: dict[str, Any], phase_name: str) -> dict[str, Any]:
    settings = []
    for setting in LOG_SETTINGS:
        estimate = cost.estimate(cost_counts(usage, setting, phase_name), per_day=2_000, free_tier=True)
        per_1000 = estimate["per_1000_mails_usd"]
        floor = estimate["ses_floor_per_1000_usd"]
        settings.append({
            "setting": setting,
            "viewable": LOG_SETTING_NOTES[setting],
            "express_log_bytes_per_mail": usage["express_log"].get(setting, {}).get("bytes_per_mail", 0.0),
            "per_1000_mails_usd": per_1000,
            "ratio_to_ses": per_1000 / floor,
            "monthly_usd_at_2000_per_day": estimate["monthly_usd_at_2000_per_day"],
            "monthly_usd_at_2000_per_day_list_price": estimate["monthly_usd_at_2000_per_day_list_price"],
            "meets_targets": per_1000 <= floor * SES_TARGET_RATIO
            and estimate["monthly_usd_at_2000_per_day"] <= MONTHLY_TARGET_USD,
        })
    chosen = next((row["setting"] for row in settings if row["meets_targets"]), "ERROR+data")
    estimate = cost.estimate(cost_counts(usage, chosen, phase_name), per_day=2_000, free_tier=True)
    by_service = estimate["per_1000_mails_by_service_usd"]
    return {
        "express_log_setting": chosen,
        "express_log_settings": settings,
        "per_1000_mails_usd": estimate["per_1000_mails_usd"],
        "per_1000_mails_by_service_usd": by_service,
        "ses_floor_per_1000_usd": estimate["ses_floor_per_1000_usd"],
        "ratio_to_ses_floor": estimate["ratio_to_ses_floor"],
        "monthly_usd_at_2000_per_day": estimate["monthly_usd_at_2000_per_day"],
        "monthly_usd_at_2000_per_day_list_price": estimate["monthly_usd_at_2000_per_day_list_price"],
        "scenarios": estimate["scenarios"],
        "monthly_at_2000_by_service_usd": {**estimate["monthly"]["variable_usd"], **estimate["monthly"]["fixed_usd"]},
        "fixed_kinds": sorted(estimate["monthly"]["fixed_usd"]),
        "reference": estimate["reference"],
        "prices": estimate["prices"],
        "counts": estimate["counts"],
        "notes": [note for note in estimate["notes"] if note],
    }


def phase_summary(phase: PhaseResult) -> dict[str, Any]:
    latency = percentiles(phase.latencies_ms)
    verdict = phase.verdict
    totals = phase.totals
    cpu_ms = phase.cpu_seconds * 1000 / max(1, phase.orders)
    return {
        "orders": phase.orders,
        "messages_published": phase.publish_count,
        "mode": phase.mode,
        "mix": phase.workload.counts,
        "lost": verdict.lost,
        "duplicate_mails": verdict.duplicate_mails,
        "invariants_ok": verdict.ok,
        "orders_per_s": round(phase.orders_per_s, 2),
        "messages_per_s": round(phase.publish_count / phase.elapsed, 2),
        "elapsed_s": round(phase.elapsed, 1),
        "publish_s": round(phase.publish_seconds, 1),
        "settle_s": round(phase.settled_seconds, 1),
        "replay_s": round(phase.replay_seconds, 1),
        "p50_ms": latency.get("p50"),
        "p95_ms": latency.get("p95"),
        "p99_ms": latency.get("p99"),
        "latency_ms": latency,
        "cpu_ms_per_order": round(cpu_ms, 1),
        "cpu_utilisation": round(phase.cpu_seconds / phase.elapsed, 2),
        "executions": totals.executions if totals else phase.after.executions - phase.before.executions,
        "execution_outcomes": dict(totals.outcomes.most_common()) if totals else None,
        "execution_ms": percentiles(totals.durations_ms) if totals else None,
        "statuses": dict(sorted(verdict.statuses.items())),
        "injected_ses_rejections": phase.injected_rejections,
        "failed_before_replay": verdict.failed_before_replay,
        "failure_errors": dict(phase.failures_before_replay),
        "replayed": verdict.replayed,
        "dlq_messages": verdict.dlq_messages,
        "invalid_reasons_as_expected": list(verdict.invalid_reasons_as_expected),
        "checks": [check.as_dict() for check in verdict.checks],
        "settled": phase.settled,
        "rss_samples": [{"s": at, "settled": done, "rss_mb": rss} for at, done, rss in phase.rss_samples],
        "memory_returned": phase.memory_returned,
        "feedback_delivery": phase.feedback_delivery,
        "notes": phase.notes,
    }


def cpu_breakdown(phase: PhaseResult) -> dict[str, Any]:
    """Where the process's CPU went per order: moto's server side by service (exclusive), the rest."""
    spent = _delta(phase.after.api_cpu, phase.before.api_cpu)
    orders = max(1, phase.orders)
    total = phase.cpu_seconds * 1000 / orders
    rows: dict[str, float] = {}
    labels = {
        ("dynamodb", None): "DynamoDB requests (moto: expression parsing, item deep copies)",
        ("awslambda", "Invoke"): "Lambda Invoke: validate + render handlers in-process, moto Lambda",
        ("sns", "Publish"): "SNS Publish: SQS delivery; SES events → feedback handler in-process",
        ("sqs", None): "SQS requests (moto)",
        ("sesv2", None): "SES SendEmail (moto) + outbox files + event scheduling",
    }
    accounted = 0.0
    for service, actions in spent.items():
        for action, seconds in actions.items():
            key = (service, action) if (service, action) in labels else (service, None)
            label = labels.get(key, f"{service} (moto)")
            rows[label] = rows.get(label, 0.0) + seconds * 1000 / orders
            accounted += seconds * 1000 / orders
    rows["the rest: Step Functions interpreter, boto3 client side, runtime threads, benchmark"] = max(
        0.0, total - accounted)
    ordered = dict(sorted(((k, round(v, 1)) for k, v in rows.items()), key=lambda kv: -kv[1]))
    return {"cpu_ms_per_order": round(total, 1), "by_component_ms_per_order": ordered}


def _short(label: str) -> str:
    """A component label of the CPU breakdown, without its explanation."""
    return label.split(":")[0].split(" (")[0]


def _target(name: str, target: str, figure: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"name": name, "target": target, "figure": figure, "met": met, "note": note}


def build_report(result: BenchResult, *, command: str, argv: list[str], machine: dict[str, Any]) -> dict[str, Any]:
    phases = {phase.name: phase for phase in result.phases}
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "argv": argv,
        "machine": machine,
        "config": {k: getattr(result.config, k) for k in result.config.__dataclass_fields__},
        "wall_seconds": round(result.wall_seconds, 1),
        "cold_import_ms": result.cold_imports_ms,
    }
    for name in ("day", "burst"):
        if name in phases:
            report[name] = phase_summary(phases[name])
            report[name]["cpu_breakdown"] = cpu_breakdown(phases[name])
            report[name]["per_email"] = per_mail(phases[name])
            units = report[name]["per_email"]["dynamodb_units_per_mail"]
            # Issue 13's figure: table plus index write units per mail SES accepted, the run's mix included.
            report[name]["ledger_write_units_per_mail"] = round(units["write"] + units["index_write"], 3)
    compare: dict[str, Any] = {}
    for label, phase in result.compare.items():
        compare[label] = {
            "orders": phase.orders,
            "orders_per_s": round(phase.orders_per_s, 2),
            "elapsed_s": round(phase.elapsed, 1),
            "cpu_ms_per_order": round(phase.cpu_seconds * 1000 / max(1, phase.orders), 1),
            "invariants_ok": phase.verdict.ok,
            "lost": phase.verdict.lost,
            "duplicate_mails": phase.verdict.duplicate_mails,
            "p99_ms": percentiles(phase.latencies_ms).get("p99"),
            "cpu_breakdown": cpu_breakdown(phase),
        }
    if {"runtime", "stock_moto"} <= compare.keys():
        ratio = compare["runtime"]["orders_per_s"] / max(1e-9, compare["stock_moto"]["orders_per_s"])
        cpu_ratio = compare["stock_moto"]["cpu_ms_per_order"] / max(1e-9, compare["runtime"]["cpu_ms_per_order"])
        compare["ratio_orders_per_s"] = round(ratio, 2)
        compare["ratio_cpu_per_order"] = round(cpu_ratio, 2)
        report["throughput_ratio_vs_stock_moto"] = round(ratio, 2)
    else:
        report["throughput_ratio_vs_stock_moto"] = None
    report["compare"] = compare
    report["memory_mb"] = {k: round(v, 1) for k, v in result.memory_mb.items()}
    report["memory_held_mb"] = {point: {k: round(v, 1) for k, v in values.items()}
                                for point, values in result.held_mb.items()}
    if "after_burst" in result.memory_mb and "before_burst" in result.memory_mb:
        growth = result.memory_mb["after_burst"] - result.memory_mb["before_burst"]
        report["memory_growth_mb"] = round(growth, 1)
        held = result.held_mb
        if "after_burst" in held and "after_day" in held:
            ledger = held["after_burst"]["ledger_mb"] - held["after_day"]["ledger_mb"]
            records = held["after_burst"]["runtime_records_mb"] - held["after_day"]["runtime_records_mb"]
            report["memory_growth_breakdown_mb"] = {
                "ledger_items_in_moto": round(ledger, 1),
                "runtime_records": round(records, 1),
                "everything_else": round(growth - ledger - records, 1),
            }
    else:
        report["memory_growth_mb"] = None
    usage_phase = "day" if "day" in report else ("burst" if "burst" in report else None)
    if usage_phase:
        report["cost"] = cost_section(report[usage_phase]["per_email"], usage_phase)
        # Top level, where `ordermail cost --counts docs/benchmarks.json` looks for them.
        report["counts"] = report["cost"]["counts"]
    for run in ("flash_sale", "quota_wait"):
        if getattr(result, run, None):
            report[run] = getattr(result, run)
    runs_ok = [phase.verdict.ok for phase in result.phases] + [phase.verdict.ok for phase in result.compare.values()]
    runs_ok += [report[run]["invariants_ok"] for run in ("flash_sale", "quota_wait") if run in report]
    report["invariants_ok"] = all(runs_ok) if runs_ok else False
    report["targets"] = targets(report)
    report["analysis"] = analysis(report)
    return report


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    runs: list[tuple[str, Any]] = [(name, report[name]) for name in ("day", "burst") if name in report]
    runs += [(f"compare ({label})", report["compare"][label]) for label in ("runtime", "stock_moto")
             if label in report.get("compare", {})]
    lost = sum(run["lost"] for _, run in runs)
    dups = sum(run["duplicate_mails"] for _, run in runs)
    rows.append(_target("Invariants, every run", "zero lost, zero duplicate mails, all checks pass",
                        f"{lost} lost, {dups} duplicate mails over {len(runs)} runs; checks "
                        f"{'all pass' if report['invariants_ok'] else 'FAIL'}", report["invariants_ok"]))
    ratio = report.get("throughput_ratio_vs_stock_moto")
    compare = report.get("compare", {})
    if ratio is not None:
        breakdown = compare["runtime"]["cpu_breakdown"]["by_component_ms_per_order"]
        top = ", ".join(f"{_short(k)} {v} ms" for k, v in list(breakdown.items())[:3])
        rows.append(_target("Runtime throughput vs stock moto", f"≥ {THROUGHPUT_TARGET:.0f}{TIMES}",
                            f"{ratio:.2f}{TIMES} ({compare['runtime']['orders_per_s']} vs "
                            f"{compare['stock_moto']['orders_per_s']} orders/s; CPU per order "
                            f"{compare['runtime']['cpu_ms_per_order']} vs {compare['stock_moto']['cpu_ms_per_order']} ms)",
                            ratio >= THROUGHPUT_TARGET,
                            "" if ratio >= THROUGHPUT_TARGET else f"runtime CPU per order is dominated by: {top}"))
    else:
        rows.append(_target("Runtime throughput vs stock moto", f"≥ {THROUGHPUT_TARGET:.0f}{TIMES}", "not measured", None))
    growth = report.get("memory_growth_mb")
    parts = report.get("memory_growth_breakdown_mb")
    detail = (f"; of which ledger items held by moto {parts['ledger_items_in_moto']:+.1f} MB, runtime records "
              f"{parts['runtime_records']:+.1f} MB, everything else {parts['everything_else']:+.1f} MB") if parts else ""
    rows.append(_target("Memory growth over the burst", f"≤ {MEMORY_TARGET_MB:.0f} MB",
                        "not measured" if growth is None else f"{growth:+.1f} MB "
                        f"({report['memory_mb'].get('before_burst')} → {report['memory_mb'].get('after_burst')} MB RSS)"
                        + detail,
                        None if growth is None else growth <= MEMORY_TARGET_MB))
    day = report.get("day", {})
    if "ledger_write_units_per_mail" in day:
        units = day["per_email"]["dynamodb_units_per_mail"]
        rows.append(_target("Ledger write units per mail (day run)", f"≤ {LEDGER_WRITE_UNITS_TARGET}",
                            f"{day['ledger_write_units_per_mail']:.2f} ({units['write']:.2f} table + "
                            f"{units['index_write']:.2f} index; the pacing table's "
                            f"{units.get('pacing_write', 0.0):.2f} apart, in the cost)",
                            day["ledger_write_units_per_mail"] <= LEDGER_WRITE_UNITS_TARGET))
    if "cost" in report:
        c = report["cost"]
        ratio_ses = c["per_1000_mails_usd"] / c["ses_floor_per_1000_usd"]
        non_ses = sorted(((k, v) for k, v in c["per_1000_mails_by_service_usd"].items() if k != "ses"),
                         key=lambda kv: -kv[1])
        top = ", ".join(f"{k} ${v:.4f}" for k, v in non_ses[:3])
        pacing = report.get("day", {}).get("per_email", {}).get("dynamodb_units_per_mail", {}).get("pacing_write")
        if pacing:  # issue 12's price, apart: one write unit per mail in the send-pacing table
            write_price = cost.load_prices()["dynamodb"]["per_million_write_units"]
            top += (f"; of DynamoDB, the send pacing's {pacing:.2f} write units a mail = "
                    f"${pacing * write_price / 1000:.4f} (docs/PACING.md)")
        rows.append(_target("Variable cost per mail", f"≤ {SES_TARGET_RATIO:.0%} of SES (${c['ses_floor_per_1000_usd'] * SES_TARGET_RATIO:.3f}/1,000)",
                            f"${c['per_1000_mails_usd']:.4f} per 1,000 = {ratio_ses:.1%} of SES "
                            f"(Express logs {c['express_log_setting']})", ratio_ses <= SES_TARGET_RATIO,
                            f"above SES, per 1,000 mails: {top}"))
        rows.append(_target("Monthly total at 2,000/day, CloudWatch free allowances applied",
                            f"≤ ${MONTHLY_TARGET_USD:.2f}",
                            f"${c['monthly_usd_at_2000_per_day']:.2f} (list price: "
                            f"${c['monthly_usd_at_2000_per_day_list_price']:.2f}; reference $9.26)",
                            c["monthly_usd_at_2000_per_day"] <= MONTHLY_TARGET_USD))
    return rows + flash.targets(report)


# --- Markdown -------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        if math.isnan(value):
            return DASH
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _met(flag: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[flag]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    cfg = report["config"]
    out: list[str] = []
    out.append("# ordermail benchmarks\n")
    out.append("Generated by `make bench` (`python -m ordermail.bench`) on the embedded local runtime: the real ASL, "
               "the real Lambda handlers and templates, moto in this one process, no AWS account. Figures are from "
               "one run; the raw data is in [`benchmarks.json`](benchmarks.json). The bench is a tool, not a test: CI "
               "runs only its smoke version (`tests/bench/`, invariants only, no timing assertions).\n")
    out.append("## How it was run\n")
    out.append(f"- Command: `{report['command']}`")
    out.append(f"- Arguments: `{' '.join(report['argv']) or '(defaults)'}`")
    out.append(f"- Generated: {report['generated_at']}; whole bench: {report['wall_seconds'] / 60:.1f} min wall")
    out.append(f"- Machine: {m['cpu_model']}, {m['cpus_available']} CPUs available ({m['logical_cpus']} logical), "
               f"{m['memory_gb']} GB RAM, {m['os']}; {m['implementation']} {m['python']} (one process: the GIL "
               f"makes it one core's worth of Python); moto {m['moto']}, boto3 {m['boto3']}")
    out.append(f"- Runtime: fast mode, {cfg['pipe_workers']} Pipe workers, clock factor {cfg['time_scale']} "
               f"(retry back-offs, SES event delays, visibility timeout and claim lease scaled; the lease and "
               f"visibility timeout are whole seconds ≥ 2)")
    out.append(f"- Faults injected in every run: SES throttling on {cfg['ses_throttle_rate']:.0%} of SendEmail calls, "
               f"DynamoDB throttling on {cfg['ddb_throttle_rate']:.0%} of item reads/writes, Lambda service errors "
               f"on {cfg['lambda_error_rate']:.0%} of workflow invokes, SNS delivering {cfg['sns_duplicate_rate']:.0%} of "
               f"messages twice, and one permanent SES `MessageRejected` per {cfg['reject_every']} orders (so the "
               f"replay step has FAILED orders to replay)")
    out.append("- Mix: 5 % republished duplicates (40 % of them racing the original from a second publisher, some "
               "later ones with a changed payload), 1 % invalid (16 rotating malformed payloads), 2 % to "
               "bounce@ and 0.2 % to complaint@simulator.amazonses.com, 23 currencies with 0/2/3 minor units, "
               "names and items in a dozen scripts, IDN domains, orderIds that need the base32 SES tag")
    out.append(f"- Day run: arrivals at {cfg['day_rate']}/s (Poisson). Burst: everything published as fast as "
               f"the publisher can, then drained. Handlers log at {cfg['handler_log_level']} as deployed.\n")

    out.append("## Targets\n")
    out.append(_table(["target", "wanted", "measured", "verdict"],
                      [[t["name"], t["target"], t["figure"], _met(t["met"]) + (f" — {t['note']}" if t["note"] and not t["met"] else "")]
                       for t in report["targets"]]))
    out.append("")

    out.append("## Runs\n")
    rows = []
    for name in ("day", "burst"):
        if name not in report:
            continue
        r = report[name]
        rows.append([name, _fmt(r["orders"]), _fmt(r["messages_published"]), _fmt(r["orders_per_s"], 2),
                     _fmt(r["p50_ms"], 0), _fmt(r["p95_ms"], 0), _fmt(r["p99_ms"], 0), _fmt(r["cpu_ms_per_order"], 0),
                     r["lost"], r["duplicate_mails"], f"{r['failed_before_replay']} → {r['replayed']}",
                     r["dlq_messages"], "pass" if r["invariants_ok"] else "**FAIL**"])
    out.append(_table(["run", "orders", "messages", "orders/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/order",
                       "lost", "dup. mails", "FAILED → replayed", "DLQ", "invariants"], rows))
    out.append("\nLatency is per distinct valid order, from its first publish to the end of the execution that "
               "recorded it SENT (RecordSent); orders/s counts distinct orders from the first publish to the last "
               "execution or feedback invocation. In the burst every order waits behind the whole queue, so its "
               "percentiles measure the drain, not the workflow. CPU ms/order is the process's CPU time over the "
               "run divided by its orders; in the paced day run it includes the Pipe workers' idle polling "
               "between arrivals, so the burst's figure is the one to compare.\n")
    for name in ("day", "burst"):
        if name not in report:
            continue
        r = report[name]
        out.append(f"**{name}** — mix {r['mix']}; final statuses {r['statuses']}; execution outcomes "
                   f"{r['execution_outcomes']}; failures before replay {r['failure_errors'] or 'none'}; invalid "
                   f"reasons as expected {r['invalid_reasons_as_expected'][0]}/{r['invalid_reasons_as_expected'][1]}; "
                   f"publish {r['publish_s']} s, settled after {r['settle_s']} s, replay {r['replay_s']} s"
                   + _delivery_text(r.get("feedback_delivery") or {}) + ".\n")
    out.append("Invariant checks (each run):\n")
    for name in ("day", "burst"):
        if name in report:
            for check in report[name]["checks"]:
                out.append(f"- {name}: {'✔' if check['ok'] else '✘'} {check['name']} — {check['detail']}")
    out.append("")

    out.extend(flash.markdown(report))
    compare = report.get("compare", {})
    if "runtime" in compare and "stock_moto" in compare:
        out.append("## Throughput: the runtime against stock moto\n")
        out.append(f"The same {compare['runtime']['orders']:,}-order workload (same mix and faults, burst-published) "
                   "on a fresh runtime each: `RuntimeOptions(fast=True)` and `RuntimeOptions(fast=False)` — stock moto "
                   "executing the same ASL with the same in-process handlers, without the runtime's caches (parsed "
                   "definition, boto3 clients, JSONPath), the other fast paths and the memory seams, and without IAM "
                   "enforcement (moto as shipped). Both keep the fidelity seams (atomic DynamoDB writes, error names, "
                   "request shapes, quotas, faults).\n")
        rows = []
        for label in ("runtime", "stock_moto"):
            c = compare[label]
            rows.append([label.replace("_", " "), _fmt(c["orders_per_s"], 2), _fmt(c["elapsed_s"]),
                         _fmt(c["cpu_ms_per_order"], 0), "pass" if c["invariants_ok"] else "**FAIL**"])
        out.append(_table(["", "orders/s", "elapsed s", "CPU ms/order", "invariants"], rows))
        out.append(f"\nRatio: **{compare['ratio_orders_per_s']}{TIMES}** in orders/s, {compare['ratio_cpu_per_order']}{TIMES} in CPU "
                   "per order.\n")
        out.append("Where the CPU goes, per order (moto's server side by service, exclusive of nested requests; "
                   "the rest is the Step Functions interpreter, the boto3 client side, the runtime's threads):\n")
        labels = list(dict.fromkeys(list(compare["runtime"]["cpu_breakdown"]["by_component_ms_per_order"])
                                    + list(compare["stock_moto"]["cpu_breakdown"]["by_component_ms_per_order"])))
        out.append(_table(["component", "runtime ms", "stock moto ms"],
                          [[label, _fmt(compare["runtime"]["cpu_breakdown"]["by_component_ms_per_order"].get(label), 1),
                            _fmt(compare["stock_moto"]["cpu_breakdown"]["by_component_ms_per_order"].get(label), 1)]
                           for label in labels]))
        out.append("")
    out.extend(_fast_paths_section(report.get("fast_paths")))

    out.append("## Memory\n")
    mem = report["memory_mb"]
    point_notes = {
        "start": "runtime started, handlers warm",
        "before_day": "just before the day run's first publish",
        "after_day": "day run settled, before its checks",
        "after_day_checks": "after the day run's checks and replay (a full ledger scan through the API)",
        "before_burst": "just before the burst's first publish",
        "after_burst": "burst settled, before its checks",
        "after_burst_checks": "after the burst's checks and replay",
    }
    out.append(_table(["point", "RSS MB", "when"], [[k.replace("_", " "), _fmt(v), point_notes.get(k, "")]
                                                    for k, v in mem.items()]))
    out.append(f"\nGrowth over the burst (after burst minus before burst): **{_fmt(report.get('memory_growth_mb'))} MB** "
               "(psutil RSS after `gc.collect()`). The runtime hands freed heap back to the system when it goes "
               "idle (glibc `malloc_trim`, ordermail/emulator/memory.py); what stays is live objects plus free "
               "fragments between them, which no allocator call returns.")
    returned = report.get("burst", {}).get("memory_returned") or {}
    if returned.get("trims"):
        out.append(f"\nIdle trims by the end of the burst (whole run so far): {int(returned['trims'])}, "
                   f"{returned['released_bytes'] / 1e6:.0f} MB returned to the system in {returned['seconds'] * 1000:.0f} ms.")
    samples = report.get("burst", {}).get("rss_samples") or []
    if samples:
        shown = samples[:: max(1, len(samples) // 8)] + ([samples[-1]] if samples[-1] not in samples[:: max(1, len(samples) // 8)] else [])
        out.append("\nDuring the burst (seconds since its first publish, orders settled, RSS): "
                   + "; ".join(f"{s['s']:.0f} s, {s['settled']:,}, {s['rss_mb']:.0f} MB" for s in shown) + ".")
    held = report.get("memory_held_mb", {})
    if held:
        out.append("What the runtime legitimately holds at each point (the ledger: its compressed items, their keys and any item a request has decoded; the records: their Python objects, walked):\n")
        out.append(_table(["point", "ledger items", "ledger in moto, MB", "runtime records, MB"],
                          [[k.replace("_", " "), _fmt(int(v["ledger_items"])), _fmt(v["ledger_mb"]),
                            _fmt(v["runtime_records_mb"])] for k, v in held.items()]))
    parts = report.get("memory_growth_breakdown_mb")
    if parts:
        out.append(f"\nOf the growth over the burst: ledger items in moto's in-memory DynamoDB "
                   f"{_fmt(parts['ledger_items_in_moto'])} MB (on AWS the ledger lives in DynamoDB), the runtime's "
                   f"per-execution / per-invocation / per-mail records {_fmt(parts['runtime_records'])} MB, everything "
                   f"else {_fmt(parts['everything_else'])} MB (allocator arenas and fragmentation — moto's interpreter "
                   "starts a thread per task state —, moto's caches, the benchmark's bookkeeping).\n")
    else:
        out.append("")

    usage_name = "day" if "day" in report else ("burst" if "burst" in report else None)
    if usage_name:
        u = report[usage_name]["per_email"]
        out.append(f"## Resource use per e-mail ({usage_name} run)\n")
        out.append(f"Counted by the runtime over the whole {usage_name} run and divided by the {u['mails']:,} mails SES "
                   "accepted: duplicates, invalid inputs, retries after injected faults and redeliveries are part of "
                   "the price of a mail.\n")
        what = {"SNS": "order publishes + SES event notifications", "SQS": "SNS→SQS deliveries, Pipe receives, deletes",
                "Pipes": "one request per message (batch size 1)", "Step Functions": "StartSyncExecution",
                "Lambda": "validate + render invokes, feedback deliveries", "DynamoDB": "item reads and writes",
                "SES": "SendEmail calls, throttled and rejected ones included",
                "CloudWatch": "API calls (metrics go out as EMF log lines)"}
        out.append(_table(["service", "API calls per mail", "what"],
                          [[k, _fmt(v, 2), what.get(k, "")] for k, v in u["api_calls_per_mail"].items()]))
        out.append(f"\n- State transitions: {_fmt(u['state_transitions_per_mail'], 1)} per mail "
                   f"({_fmt(u['state_transitions_per_execution'], 1)} per execution; Express bills requests and "
                   "duration, not transitions)")
        out.append(f"- DynamoDB capacity: {_fmt(u['dynamodb_units_per_mail']['write'], 2)} write units + "
                   f"{_fmt(u['dynamodb_units_per_mail']['index_write'], 2)} index write units + "
                   f"{_fmt(u['dynamodb_units_per_mail']['read'], 2)} read units per mail; ledger item "
                   f"{_fmt(u['ledger_item_bytes'].get('mean'), 0)} bytes on average "
                   f"(p99 {_fmt(u['ledger_item_bytes'].get('p99'), 0)})")
        out.append(f"- SES events published per mail: {_fmt(u['ses_events_per_mail'], 2)}; Lambda log output "
                   f"{_fmt(u['lambda_log_bytes_per_mail'], 0)} bytes per mail (Powertools lines and EMF metrics as "
                   f"captured, +{LOG_EVENT_OVERHEAD_BYTES} bytes per event, plus "
                   f"{LAMBDA_PLATFORM_BYTES_PER_INVOCATION} bytes of START/END/REPORT lines per invocation)")
        api = u["api_calls"]
        out.append(f"- Detail: {api['sns_orders_publishes']:,} order publishes, {api['sns_ses_event_publishes']:,} SES "
                   f"event publishes, {api['sqs_messages_delivered_by_sns']:,} queue messages, "
                   f"{api['sqs_empty_receives_local_poller']:,} empty receives by the local poller (not counted: the "
                   f"deployed Pipe's idle polling is a fixed cost), DynamoDB {api['dynamodb']}, "
                   f"{api['ses_send_email_calls']:,} SendEmail calls for {api['ses_mails_accepted']:,} mails\n")
        out.append(_table(["handler", "invocations/mail", "wall p50 ms", "wall p99 ms", "CPU p50 ms", "CPU p99 ms",
                           "cold import ms"],
                          [[name, _fmt(s["invocations_per_mail"], 2), _fmt(s["wall_ms"]["p50"]), _fmt(s["wall_ms"]["p99"]),
                            _fmt(s["cpu_ms"]["p50"]), _fmt(s["cpu_ms"]["p99"]),
                            _fmt(report["cold_import_ms"].get(name))] for name, s in u["lambda"].items()]))
        out.append("\nHandler durations are in-process on this machine (wall includes waiting for the GIL under "
                   "load; CPU is the handler thread's, its in-process AWS calls included). Cold import: a fresh "
                   "interpreter importing the handler module (median of 3), what INIT pays for our code.\n")
        out.append("### Express execution logs\n")
        out.append("Measured from every execution's event history, in the record format Step Functions writes "
                   f"to CloudWatch Logs (+{LOG_EVENT_OVERHEAD_BYTES} bytes per event):\n")
        cost_rows = {row["setting"]: row for row in report.get("cost", {}).get("express_log_settings", [])}
        rows = []
        for setting, values in u["express_log"].items():
            row = cost_rows.get(setting, {})
            rows.append([setting, _fmt(values["events_per_execution"], 1), _fmt(values["bytes_per_execution"], 0),
                         _fmt(values["bytes_per_mail"], 0), f"${_fmt(row.get('per_1000_mails_usd'), 4)}",
                         f"{row.get('ratio_to_ses', float('nan')):.0%}" if row else DASH,
                         f"${_fmt(row.get('monthly_usd_at_2000_per_day'), 2)}", LOG_SETTING_NOTES[setting]])
        out.append(_table(["setting", "events/exec.", "bytes/exec.", "bytes/mail", "per 1,000 mails", "of SES",
                           "month at 2,000/day", "what stays viewable"], rows))
        if "cost" in report:
            out.append(f"\nChosen: **{report['cost']['express_log_setting']}**. Every order's history (each attempt "
                       "with its execution name (the ARN of a failed one), outcome and error, every SES event) is in the ledger timeline at any "
                       "setting (`ordermail status` / `ordermail history`); the Express logs add the step-by-step "
                       "view in the console. Level ALL with execution data writes every state's input and output — "
                       "the rendered mail included — for every order, which alone costs a double-digit share of "
                       "SES's price per mail; ERROR with execution data keeps the full payloads of exactly the "
                       "executions an operator needs to debug, and costs nothing for the ones that succeed.\n")

    if "cost" in report:
        c = report["cost"]
        out.append("## Cost model\n")
        out.append(f"`ordermail cost` (ordermail/cost.py) fed with the counts above and the price table "
                   f"`ordermail/prices.json` ({c['prices']['region']}, as of {c['prices']['as_of']}); durations are "
                   "the model's AWS estimates (in-process timings do not transfer to Lambda or Step Functions). "
                   "Reproduce with `ordermail cost --counts docs/benchmarks.json`.\n")
        by = sorted(c["per_1000_mails_by_service_usd"].items(), key=lambda kv: -kv[1])
        total = c["per_1000_mails_usd"]
        out.append(_table(["service", "per 1,000 mails", "share"],
                          [[k, f"${v:.4f}", f"{v / total:.0%}"] for k, v in by]
                          + [["**total (variable, list price)**", f"**${total:.4f}**",
                              f"{c['ratio_to_ses_floor']:.1%} of SES"]]))
        out.append(f"\nSES-only floor: ${c['ses_floor_per_1000_usd']:.2f} per 1,000 mails.\n")
        rows = []
        for s in c["scenarios"]:
            rows.append([f"{s['per_day']:,}/day", f"${s['variable_usd']:.2f}", f"${s['fixed_usd']:.2f}",
                         f"**${s['total_usd']:.2f}**", f"${s['fixed_usd_list_price']:.2f}", f"${s['total_usd_list_price']:.2f}"])
        out.append(_table(["volume", "variable", "fixed (free allowances)", "total (free allowances)",
                           "fixed (list price)", "total (list price)"], rows))
        ref = c["reference"]
        out.append(f"\nAt 2,000 mails/day: **${c['monthly_usd_at_2000_per_day']:.2f}/month** with CloudWatch's "
                   f"always-free allowances, ${c['monthly_usd_at_2000_per_day_list_price']:.2f} at list price; SES "
                   f"alone ${ref['ses_only_monthly_usd_at_2000_per_day']:.2f}; the reference CDK implementation claims "
                   f"${ref['ci_ts_claim_monthly_usd_at_2000_per_day']:.2f}.\n")
        month = c["monthly_at_2000_by_service_usd"]
        out.append(_table(["at 2,000/day (free allowances)", "kind", "USD/month"],
                          [[k, "fixed" if k in c["fixed_kinds"] else "variable", f"${v:.2f}"]
                           for k, v in sorted(month.items(), key=lambda kv: -kv[1])]))
        out.append("\nWhere each fixed cost comes from (prices: ordermail/prices.json; counts: ordermail/cost.py):\n")
        out.append(_table(["fixed cost", "quantity", "unit price", "why, and where the quantity comes from"],
                          fixed_cost_rows(c["counts"]["fixed"])))
        out.append("")
        for note in c["notes"]:
            out.append(f"- {note}")
        out.append("")

    missed = [t for t in report["targets"] if t["met"] is False]
    out.append("## Missed targets: what dominates, what would close them\n")
    if not missed:
        out.append("None.\n")
    explained = report.get("analysis") or {}
    for t in missed:
        out.append(f"- **{t['name']}** — {t['figure']}. {explained.get(t['name']) or t['note']}\n")
    out.append("")
    return "\n".join(out) + "\n"


def fixed_cost_rows(fixed: dict[str, Any]) -> list[list[str]]:
    """The fixed monthly costs, each with its quantity, price and reason (BENCHMARKS.md)."""
    prices = cost.load_prices()
    kms, sqs, cw = prices["kms"], prices["sqs"], prices["cloudwatch"]
    free = prices["always_free"]["cloudwatch"]
    return [
        ["KMS key", f"{fixed['kms_keys']}", f"${kms['customer_key_per_month']:.2f}/month",
         "one customer-managed key: SES and CloudWatch can only publish to topics encrypted with a key "
         "whose policy lets them; the topics and queues share it"],
        ["KMS requests", f"{fixed['kms_requests']:,}", f"${kms['per_10000_requests']:.2f}/10,000",
         "SNS reuses a data key for 5 minutes per topic and publisher, 2 calls each: 2 topics x 8,640 "
         "periods x 2; the queues reuse theirs for 24 hours: 2 x 30 x 2. An upper bound (traffic in "
         "every 5 minutes)"],
        ["Pipe idle polling", f"{fixed['pipe_idle_receives']:,} receives", f"${sqs['per_million_requests']:.2f}/million",
         "an estimate: 5 pollers each long-polling 20 s, all month (how Lambda's SQS pollers start; "
         "Pipes do not document theirs)"],
        ["CloudWatch alarms", f"{fixed['alarms']}", f"${cw['alarm_per_month']:.2f}/month",
         f"{free['alarms']} free per account: the stack keeps to ten"],
        ["CloudWatch dashboard", f"{fixed['dashboards']}", f"${cw['dashboard_per_month']:.2f}/month",
         f"{free['dashboards']} free per account"],
        ["custom metrics", f"{fixed['custom_metrics']}", f"${cw['custom_metric_per_month']:.2f}/month",
         f"the handlers' EMF metrics; {free['custom_metrics']} free per account"],
    ]


def analysis(report: dict[str, Any]) -> dict[str, str]:
    """For each missed target, what dominates and what would close it — computed from this run's data."""
    notes: dict[str, str] = {}
    by_name = {t["name"]: t for t in report["targets"]}
    compare = report.get("compare", {})
    throughput = by_name.get("Runtime throughput vs stock moto")
    if throughput and throughput["met"] is False and "runtime" in compare:
        fast = compare["runtime"]["cpu_breakdown"]["by_component_ms_per_order"]
        fast_total = compare["runtime"]["cpu_ms_per_order"]
        slow_total = compare["stock_moto"]["cpu_ms_per_order"]
        rest_key = next(k for k in fast if k.startswith("the rest"))
        ddb_key = next((k for k in fast if k.startswith("DynamoDB")), None)
        notes[throughput["name"]] = (
            f"Both modes are CPU-bound in one process (one core's worth of Python under the GIL), so the ratio is "
            f"the ratio of CPU per order: {slow_total:.0f} ms for stock moto, {fast_total:.0f} ms for the runtime. "
            f"The runtime's caches remove about {slow_total - fast_total:.0f} ms (the definition re-parsed, boto3 "
            f"clients rebuilt and JSONPath recompiled per execution, every handled error logged with a repr of the "
            f"whole state machine, the async execution thread polled). What is left is work both modes share: "
            f"moto's DynamoDB {fast.get(ddb_key, 0):.0f} ms (every UpdateItem re-parses and re-validates its update "
            f"expression and deep-copies the item), the interpreter plus boto3's client side {fast[rest_key]:.0f} ms "
            f"(serialize → moto → parse for every task), the SES-event feedback path and SQS/SES/Lambda. 5{TIMES} "
            f"needs the runtime at {slow_total / THROUGHPUT_TARGET:.0f} ms per order. What would close it: cache "
            f"parsed DynamoDB update/condition expressions (a hook like the JSONPath cache; the item deep copy is "
            f"only needed for ReturnValues and streams), serve the state machine's optimized integrations without "
            f"the botocore round trip, and run Pipe workers in more than one process.")
    variable = by_name.get("Variable cost per mail")
    c = report.get("cost")
    if variable and variable["met"] is False and c:
        by = c["per_1000_mails_by_service_usd"]
        counts = c["counts"]["per_email"]
        parts = sorted(((k, v) for k, v in by.items() if k != "ses"), key=lambda kv: -kv[1])
        head = ", ".join(f"{k} ${v:.4f}" for k, v in parts[:4])
        budget = c["ses_floor_per_1000_usd"] * (SES_TARGET_RATIO - 1)
        item_bytes = report.get("day", report.get("burst", {})).get("per_email", {}).get("ledger_item_bytes", {})
        requests = sum(by.get(k, 0.0) for k in ("stepfunctions", "sqs", "sns", "lambda", "pipes"))
        express = next((r["express_log_bytes_per_mail"] for r in c["express_log_settings"]
                        if r["setting"] == c["express_log_setting"]), 0)
        notes[variable["name"]] = (
            f"SES is ${c['ses_floor_per_1000_usd']:.2f} per 1,000 mails; the target leaves ${budget:.3f} for "
            f"everything else, which costs ${sum(v for _, v in parts):.4f}: {head}. The request charges of the "
            f"pipeline itself (Step Functions, SQS, SNS, Lambda, Pipes) are ${requests:.4f} before anything is "
            f"recorded. DynamoDB: {counts['dynamodb_write_units']:.1f} write units and "
            f"{counts['dynamodb_read_units']:.1f} read units per mail — each ledger write is billed on the whole "
            f"item in 1 KB units ({item_bytes.get('mean', 0):.0f} bytes on average, p99 {item_bytes.get('p99', 0):.0f}; "
            f"docs/LEDGER.md), and only listed statuses write index entries. X-Ray: "
            f"{counts['xray_traces']:.2f} trace-starting executions per mail, {c['counts']['fixed']['xray_fixed_rate']:.0%} "
            f"of them recorded (the stack's sampling rule). Logs: {counts['log_bytes']:.0f} bytes per mail, of which "
            f"Express logs at {c['express_log_setting']} are {express:.0f}; the rest are Lambda's own START/END/"
            f"REPORT lines and the EMF metric lines. What is left is mostly the request charges of the hops "
            f"themselves, which only fewer hops would cut.")
    monthly = by_name.get("Monthly total at 2,000/day, CloudWatch free allowances applied")
    if monthly and monthly["met"] is False and c:
        month = c["monthly_at_2000_by_service_usd"]
        parts = sorted(((k, v) for k, v in month.items() if k != "ses" and v > 0.005), key=lambda kv: -kv[1])
        head = ", ".join(f"{k} ${v:.2f}" for k, v in parts[:6])
        without = c["monthly_usd_at_2000_per_day"] - month.get("kms", 0)
        notes[monthly["name"]] = (
            f"At 2,000 mails a day SES is ${month.get('ses', 0):.2f} of ${c['monthly_usd_at_2000_per_day']:.2f}; the "
            f"rest is {head}. The customer-managed KMS key (${month.get('kms', 0):.2f}: $1/month plus requests) is "
            f"the price of encrypting the topics SES and CloudWatch publish to — AWS-managed keys cannot grant "
            f"them — and of one key for the queues. Without it the month would be ${without:.2f}"
            + (f"; the rest of the gap is DynamoDB (${month.get('dynamodb', 0):.2f}) and the Pipe's idle polling "
               f"(${month.get('sqs_idle_polling', 0):.2f})." if without > MONTHLY_TARGET_USD else ".")
            + " We keep the key: encryption at rest of every topic and queue is a requirement, not an option.")
    memory = by_name.get("Memory growth over the burst")
    parts_mb = report.get("memory_growth_breakdown_mb")
    if memory and memory["met"] is False:
        text = ("The runtime keeps every order's ledger item in moto's in-memory DynamoDB (about "
                f"{_ledger_kb_per_item(report):.1f} KB per item, compressed at rest) and a small record per "
                "execution, Lambda invocation and mail for `stats()`. ")
        if parts_mb:
            text += (f"Over this burst: ledger {parts_mb['ledger_items_in_moto']:+.0f} MB, runtime records "
                     f"{parts_mb['runtime_records']:+.0f} MB, the rest {parts_mb['everything_else']:+.0f} MB — free "
                     "fragments the allocators cannot hand back (they sit between live allocations such as each "
                     "item's stored request) and the burst's queue peak in Python's own arenas. ")
        text += ("Done in ordermail/emulator/memory.py: moto's test aids keep nothing (every model instance it "
                 "created — each DynamoDB item version, SQS message and SES mail —, every topic's sent messages, "
                 "the SES backend's copy of every mail), ledger items are kept compressed and decoded only while "
                 "a request uses them, keys and enum-like values are interned, glibc arenas are capped at 2, and "
                 "freed heap is returned to the system when the runtime goes idle. What would close the rest: "
                 "bounded runtime records (`stats()` keeps one per execution, invocation and mail for the "
                 "benchmark's percentiles), and a compacting allocator (jemalloc or mimalloc) for the fragments. "
                 "A 10,000-order ledger is data the runtime must keep, as DynamoDB would; RSS growth minus the "
                 "ledger is the leak-shaped part.")
        notes[memory["name"]] = text
    return notes


def _delivery_text(delivery: dict[str, int]) -> str:
    """SES events and the feedback function's asynchronous retries during a run, when there were any."""
    if not delivery:
        return ""
    return (f"; {delivery.get('ses_events_published', 0):,} SES events published "
            f"({delivery.get('ses_events_unpublished', 0)} given up), feedback invocations retried "
            f"{delivery.get('async_retried', 0)} times ({delivery.get('async_recovered', 0)} recovered, "
            f"{delivery.get('async_dead_lettered', 0)} dead-lettered)")


def _ledger_kb_per_item(report: dict[str, Any]) -> float:
    held = report.get("memory_held_mb", {}).get("after_burst") or report.get("memory_held_mb", {}).get("after_day")
    if not held or not held.get("ledger_items"):
        return 0.0
    return float(held["ledger_mb"]) * 1000 / float(held["ledger_items"])


def _fast_paths_section(fast: dict[str, Any] | None) -> list[str]:
    """What each fast path buys (docs/fast_paths.json, `python -m ordermail.bench.fast_paths`)."""
    if not fast:
        return []
    out = ["### What each fast path buys\n",
           f"`{fast['command']}` ({fast['machine']}): {fast['orders']} orders on a fast-mode runtime (IAM enforced) "
           f"with one fast path left out at a time, against all of them on, alternating, median of {fast['rounds']} "
           f"rounds. All on: {_fmt(fast['all_on_cpu_ms_per_order'], 1)} ms CPU per order. A ratio above 1 is what "
           "the fast path saves; the memory seams are judged by the burst's memory figures below, not by CPU.\n"]
    rows = [[name, entry["what"], _fmt(entry["cpu_ms_per_order"], 1), f"{entry['cpu_ratio_vs_all_on']}{TIMES}"]
            for name, entry in fast["left_out"].items()]
    out.append(_table(["left out", "what it does", "CPU ms/order without it", "CPU vs all on"], rows))
    out.append("\nRemoved because it did not measurably pay: quiet interpreter error logs (0.92-0.98"
               f"{TIMES} CPU without them, under 20 % injected SES throttling).\n")
    return out
