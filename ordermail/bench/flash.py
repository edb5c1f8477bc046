"""Peaks (issue 12, docs/PACING.md): a flash sale against the SES send rate, and a spent daily quota.

`flash_sale`: N orders (at least 200 x R) published as fast as possible against an account that
sends R mails a second, on AWS's clock (time scale 1: the rate is per real second), with a Pipe
running C executions at once and the usual faults except injected SES throttling: the run counts
the account's own throttling, which the pacing is meant to make rare. Each order goes through the
same invariants as the day and burst runs (run.run_phase).

`quota_wait`: more orders than the daily quota on a fast clock: the first ones are sent, the rest
wait (requeued, never FAILED, never dead-lettered) and go out once the rolling 24 hours let them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ordermail.emulator import Faults, LocalRuntime, RuntimeOptions

from .config import BenchConfig
from .meters import ApiCounter
from .run import run_phase
from .workload import build


@dataclass(frozen=True)
class FlashSaleConfig:
    send_rate_per_s: int = 5
    orders: int = 1_000  # 200 x the rate
    pipe_concurrency: int = 20
    quota_orders: int = 60
    daily_quota: int = 40
    # The 24-hour window lasts 432 real seconds; Express's 5 minutes 1.5. A faster clock would let
    # executions on a loaded machine reach that limit mid-SendEmail: a mail sent and not recorded.
    quota_time_scale: float = 0.005


def _send_calls(runtime: LocalRuntime) -> int:
    counter = runtime.instrument(ApiCounter)
    return int(counter.calls[("sesv2", "SendEmail")]) if counter is not None else 0


def run_flash_sale(config: BenchConfig, flash: FlashSaleConfig, workdir: Path,
                   progress: Callable[[str], None]) -> dict[str, Any]:
    rate, orders = flash.send_rate_per_s, flash.orders
    bench = replace(config, reject_every=0, ses_throttle_rate=0.0)  # no replay phase: drain ends at the last send
    faults: Faults = bench.faults(seed_offset=2)
    options = RuntimeOptions(
        outbox_dir=workdir / "outbox-flash", time_scale=1.0, pipe_workers=flash.pipe_concurrency,
        ses_production_access=True, ses_max_send_rate=rate, ses_daily_quota=10 * orders,
        ses_event_delay_seconds=1.0, faults=faults, instruments=(ApiCounter(),),
    )
    with LocalRuntime(options) as runtime:
        workload = build("flash", orders, seed=config.seed)
        started = time.time()
        calls_before = _send_calls(runtime)
        result = run_phase(runtime, workload, name="flash_sale", mode="burst", rate=None, config=bench,
                           probe=None, capture=None, all_inputs=list(workload.inputs), progress=progress)
        sent = runtime.sent_mails()
        last_send = max((mail.at for mail in sent), default=started)
        report: dict[str, Any] = {
            "orders": orders,
            "messages": workload.messages,
            "mails": len(sent),
            "send_rate_per_s": rate,
            "pipe_concurrency": flash.pipe_concurrency,
            "time_scale": 1.0,
            "dead_lettered": runtime.queue_depths()["orders_dlq"],
            "lost": result.verdict.lost,
            "duplicate_mails": result.verdict.duplicate_mails,
            "throttled_sends": runtime.ses_quota.throttled,
            "send_calls": _send_calls(runtime) - calls_before,
            "drain_s": round(last_send - started, 1),
            # Every mail goes through the rate; orders that send none (invalid ones) take no slot.
            "ideal_drain_s": round(len(sent) / rate, 1),
            "ideal_drain_orders_s": round(orders / rate, 1),
            "invariants_ok": result.verdict.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.verdict.checks],
            "statuses": dict(result.verdict.statuses),
        }
    calls, throttled = int(report["send_calls"]), int(report["throttled_sends"])
    report["throttled_share"] = throttled / max(1, calls)
    report["drain_ratio"] = float(report["drain_s"]) / max(0.1, float(report["ideal_drain_s"]))
    progress(f"flash_sale: {orders:,} orders at {rate}/s: drained in {report['drain_s']} s "
             f"(ideal {report['ideal_drain_s']} s, x{report['drain_ratio']:.2f}), throttled "
             f"{report['throttled_sends']}/{report['send_calls']} calls, DLQ {report['dead_lettered']}")
    return report


def run_quota_wait(config: BenchConfig, flash: FlashSaleConfig, workdir: Path,
                   progress: Callable[[str], None]) -> dict[str, Any]:
    scale = flash.quota_time_scale
    options = RuntimeOptions(
        outbox_dir=workdir / "outbox-quota", time_scale=scale, ses_production_access=True,
        ses_daily_quota=flash.daily_quota, ses_max_send_rate=1000, instruments=(ApiCounter(),),
    )
    window_s = 86_400 * scale
    with LocalRuntime(options) as runtime:
        workload = build("quota", flash.quota_orders, seed=config.seed)
        bench = replace(config, reject_every=0, settle_timeout=window_s + 120)
        started = time.time()
        result = run_phase(runtime, workload, name="quota_wait", mode="burst", rate=None, config=bench,
                           probe=None, capture=None, all_inputs=list(workload.inputs), progress=progress)
        sent = sorted(mail.at for mail in runtime.sent_mails())
        first = sent[0] if sent else started
        # SES counts a mail when it admits it; the outbox stamps it when the call returns, a few ms
        # later. A mail admitted as the window moved on can carry a stamp just inside it: a second's
        # margin keeps that mail on its side of the boundary.
        in_window = sum(1 for at in sent if at - first < window_s - 1.0)
        report: dict[str, Any] = {
            "orders": flash.quota_orders,
            "mails": len(sent),
            "daily_quota": flash.daily_quota,
            "time_scale": scale,
            "window_real_s": round(window_s, 1),
            "sent_in_first_window": in_window,
            "sent_after_the_window": len(sent) - in_window,
            "refused_over_quota": runtime.ses_quota.over_quota,
            "failed": result.verdict.statuses.get("FAILED", 0),
            "dead_lettered": runtime.queue_depths()["orders_dlq"],
            "lost": result.verdict.lost,
            "duplicate_mails": result.verdict.duplicate_mails,
            "last_mail_after_s": round((sent[-1] if sent else started) - started, 1),
            "invariants_ok": result.verdict.ok,
        }
    progress(f"quota_wait: {report['mails']} mails, {in_window} in the first {window_s:.0f} s window "
             f"(quota {flash.daily_quota}), {report['sent_after_the_window']} after it; FAILED {report['failed']}, "
             f"DLQ {report['dead_lettered']}")
    return report


# --- the report ------------------------------------------------------------------------------

THROTTLED_TARGET = 0.01
DRAIN_TARGET = 1.15


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 12's targets, in report.targets' row shape."""
    rows: list[dict[str, Any]] = []
    flash = report.get("flash_sale")
    if flash:
        rows.append({"name": "Flash sale: nothing dead-lettered, lost or mailed twice",
                     "target": "0 / 0 / 0",
                     "figure": f"{flash['dead_lettered']} / {flash['lost']} / {flash['duplicate_mails']} "
                               f"({flash['orders']:,} orders at {flash['send_rate_per_s']}/s, "
                               f"{flash['pipe_concurrency']} executions at once)",
                     "met": flash["dead_lettered"] == flash["lost"] == flash["duplicate_mails"] == 0
                     and flash["invariants_ok"], "note": ""})
        rows.append({"name": "Flash sale: throttled SendEmail calls", "target": f"≤ {THROTTLED_TARGET:.0%} of calls",
                     "figure": f"{flash['throttled_sends']} of {flash['send_calls']:,} ({flash['throttled_share']:.2%})",
                     "met": flash["throttled_share"] <= THROTTLED_TARGET, "note": ""})
        rows.append({"name": "Flash sale: drain time", "target": f"≤ {DRAIN_TARGET}{chr(0xD7)} ideal (mails / rate)",
                     "figure": f"{flash['drain_s']} s vs {flash['ideal_drain_s']} s ({flash['drain_ratio']:.2f}{chr(0xD7)})",
                     "met": flash["drain_ratio"] <= DRAIN_TARGET, "note": ""})
    quota = report.get("quota_wait")
    if quota:
        rows.append({"name": "Spent daily quota: the rest go out after the window, none FAILED or dead-lettered",
                     "target": "all mailed once; 0 FAILED; 0 DLQ",
                     "figure": f"{quota['sent_in_first_window']} in the window (quota {quota['daily_quota']}), "
                               f"{quota['sent_after_the_window']} after it; FAILED {quota['failed']}, "
                               f"DLQ {quota['dead_lettered']}, lost {quota['lost']}",
                     "met": quota["invariants_ok"] and quota["failed"] == quota["dead_lettered"] == 0
                     and quota["sent_in_first_window"] <= quota["daily_quota"]
                     and quota["sent_after_the_window"] > 0, "note": ""})
    return rows


def markdown(report: dict[str, Any]) -> list[str]:
    flash, quota = report.get("flash_sale"), report.get("quota_wait")
    if not flash and not quota:
        return []
    out = ["## Peaks: a flash sale and a spent daily quota\n"]
    if flash:
        out.append(
            f"**flash_sale** — {flash['orders']:,} orders ({flash['messages']:,} messages with duplicates) published "
            f"as fast as possible against an SES account sending {flash['send_rate_per_s']} mails/s, the Pipe running "
            f"{flash['pipe_concurrency']} executions at once, at time scale 1 (AWS's clock), with the usual faults "
            "except injected SES throttling (the run counts the account's own). "
            f"{flash['mails']:,} mails in {flash['drain_s']} s against an ideal {flash['ideal_drain_s']} s "
            f"(mails / rate; {flash['ideal_drain_orders_s']} s for orders / rate) = {flash['drain_ratio']:.2f}{chr(0xD7)}; "
            f"throttled {flash['throttled_sends']} of {flash['send_calls']:,} SendEmail calls; "
            f"dead-lettered {flash['dead_lettered']}, lost {flash['lost']}, duplicate mails {flash['duplicate_mails']}; "
            f"final statuses {flash['statuses']}.\n")
    if quota:
        out.append(
            f"**quota_wait** — {quota['orders']} orders against a daily quota of {quota['daily_quota']} at time scale "
            f"{quota['time_scale']} (the 24 hours last {quota['window_real_s']} real seconds): "
            f"{quota['sent_in_first_window']} mails in the first window, {quota['sent_after_the_window']} after it "
            f"(the last {quota['last_mail_after_s']} s after the first publish); {quota['refused_over_quota']} SendEmail "
            f"calls refused with LimitExceededException, each order requeued instead; FAILED {quota['failed']}, "
            f"dead-lettered {quota['dead_lettered']}, lost {quota['lost']}, duplicate mails {quota['duplicate_mails']}.\n")
    return out
