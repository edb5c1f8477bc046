"""What each fast path buys: the same orders on a fast-mode runtime with one fast path left out at a
time, CPU seconds per order against all of them on, alternating runs (A B A B) in one process.

    python -m ordermail.bench.fast_paths --orders 200 --rounds 2 --out docs/fast_paths.json

`make bench` renders docs/fast_paths.json into docs/BENCHMARKS.md ("What each fast path buys").
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from ordermail.emulator import Faults, LocalRuntime, RuntimeOptions, wiring
from tasks import names

# name → (module attribute that wiring.install_seams calls in fast mode, what it does)
FAST_PATHS: dict[str, tuple[Any, str, str]] = {
    "sfn_caches": (wiring.stepfunctions, "install_sfn_caches",
                   "parsed definitions, boto3 clients, JSONPath parsers cached (and fastpaths.py)"),
    "fastpaths": (wiring.stepfunctions.fastpaths, "install_fast_paths",
                  "DynamoDB update expressions, JSON deep copies, User-Agent, method lists"),
    "sqs_fast_paths": (wiring.sqs, "install_sqs_fast_paths", "linear queue scans"),
    "no_retain": (wiring.memory, "install_no_retain", "moto's test aids keep nothing"),
    "interning": (wiring.memory, "install_interning", "item words interned"),
    "compact_items": (wiring.compact_items, "install_compact_items", "ledger items compressed at rest"),
}


@contextmanager
def without(name: str | None) -> Iterator[None]:
    if name is None:
        yield
        return
    owner, attribute, _ = FAST_PATHS[name]
    original = getattr(owner, attribute)
    setattr(owner, attribute, lambda *args, **kwargs: None)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


def _order(index: int) -> str:
    return json.dumps({
        "orderId": f"fp-{index}-{uuid.uuid4().hex[:8]}", "customerEmail": f"success@{names.SES_SIMULATOR_DOMAIN}",
        "customerName": "Ana Silva", "items": [{"name": "Café 1 kg", "quantity": 2, "unitPrice": "18.50"}],
        "total": "37.00", "currency": "EUR", "timestamp": "2026-11-23T10:00:00Z",
    })


def run_once(orders: int, leave_out: str | None, workdir: Path, faults: Faults | None = None) -> dict[str, float]:
    gc.collect()
    options = RuntimeOptions(outbox_dir=workdir, time_scale=0.005, ses_production_access=True,
                             faults=faults or Faults())
    with without(leave_out), LocalRuntime(options) as runtime:
        sns = runtime.client("sns")
        topic = runtime.outputs["OrdersTopicArn"]
        attributes = {names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}}
        process = psutil.Process()
        rss_before = process.memory_info().rss
        cpu, wall = time.process_time(), time.perf_counter()
        for index in range(orders):
            sns.publish(TopicArn=topic, Message=_order(index), MessageAttributes=attributes)
        if not runtime.wait_idle(timeout=600):
            raise RuntimeError("the runtime did not settle")
        return {"cpu_ms_per_order": (time.process_time() - cpu) * 1000 / orders,
                "wall_s": time.perf_counter() - wall,
                "rss_growth_mb": (process.memory_info().rss - rss_before) / 1e6}


def measure(orders: int, rounds: int, progress: Callable[[str], None] = print,
            faults: Faults | None = None) -> dict[str, Any]:
    samples: dict[str, list[dict[str, float]]] = {"all": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(rounds):
            for name in FAST_PATHS:
                for label, leave_out in (("all", None), (name, name)):  # A B, A B, ...
                    result = run_once(orders, leave_out, Path(tmp) / f"{label}-{round_index}", faults)
                    samples.setdefault(label, []).append(result)
                    progress(f"round {round_index + 1} {label:15s} {result['cpu_ms_per_order']:.2f} ms CPU/order")
    baseline = statistics.median(s["cpu_ms_per_order"] for s in samples["all"])
    left_out: dict[str, Any] = {}
    report: dict[str, Any] = {"orders": orders, "rounds": rounds, "all_on_cpu_ms_per_order": round(baseline, 3),
                              "left_out": left_out}
    for name, (_, _, what) in FAST_PATHS.items():
        cpu = statistics.median(s["cpu_ms_per_order"] for s in samples[name])
        rss = statistics.median(s["rss_growth_mb"] for s in samples[name])
        left_out[name] = {"what": what, "cpu_ms_per_order": round(cpu, 3),
                                    "cpu_ratio_vs_all_on": round(cpu / baseline, 3),
                                    "rss_growth_mb": round(rss, 1)}
    report["all_on_rss_growth_mb"] = round(statistics.median(s["rss_growth_mb"] for s in samples["all"]), 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ses-throttle-rate", type=float, default=0.0,
                        help="inject SES throttling (handled errors, retries)")
    parser.add_argument("--only", nargs="*", choices=sorted(FAST_PATHS), help="these fast paths only")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    for name in set(FAST_PATHS) - set(args.only or FAST_PATHS):
        del FAST_PATHS[name]
    faults = Faults(ses_throttle_rate=args.ses_throttle_rate, seed=1)
    report = measure(args.orders, args.rounds, faults=faults)
    report["command"] = "python -m ordermail.bench.fast_paths " + " ".join(argv if argv is not None else sys.argv[1:])
    report["machine"] = f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
