"""`python -m ordermail.bench` (and `ordermail bench`): run, print the table, write the report."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .config import BenchConfig
from .instruments import machine_facts

DASH = "\u2013"  # en dash: an empty cell
TIMES = "\u00d7"
SMOKE_ORDERS = 200


def build_parser(prog: str = "python -m ordermail.bench") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Benchmark ordermail on the embedded runtime: a day run and a burst with faults, invariants, "
                    "throughput against stock moto, per-e-mail resource use and the cost model.",
        epilog="Exit codes: 0 invariants hold, 1 an invariant failed, 2 usage. Targets missed do not fail the run.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = BenchConfig()
    parser.add_argument("--day", type=int, metavar="N", help=f"orders in the day run (default {defaults.day:,})")
    parser.add_argument("--burst", type=int, metavar="N", help=f"orders in the burst (default {defaults.burst:,})")
    parser.add_argument("--compare", type=int, metavar="N",
                        help=f"orders in each throughput comparison run, runtime vs stock moto (default {defaults.compare})")
    parser.add_argument("--day-rate", type=float, metavar="PER_S",
                        help=f"order arrivals per second in the day run; 0: as fast as possible (default {defaults.day_rate})")
    parser.add_argument("--smoke", action="store_true",
                        help=f"CI size: a {SMOKE_ORDERS}-order day run with faults, invariants only, no burst, no "
                             "comparison; writes nothing unless --out is given")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where BENCHMARKS.md and benchmarks.json go (default docs/, none with --smoke)")
    parser.add_argument("--seed", type=int, help=f"workload and fault seed (default {defaults.seed})")
    parser.add_argument("--time-scale", type=float, help=f"the runtime's clock factor (default {defaults.time_scale})")
    parser.add_argument("--workers", type=int, help=f"Pipe workers (default {defaults.pipe_workers})")
    parser.add_argument("--flash", type=int, metavar="N",
                        help=f"orders in the flash sale, 0 to skip it (default {defaults.flash_orders:,}, 200 x the rate)")
    parser.add_argument("--flash-rate", type=int, metavar="PER_S",
                        help=f"the SES send rate in the flash sale (default {defaults.flash_rate})")
    parser.add_argument("--quota-orders", type=int, metavar="N",
                        help=f"orders in the spent-daily-quota run, 0 to skip it (default {defaults.quota_orders})")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="run nothing: re-judge the targets and rewrite BENCHMARKS.md from an existing "
                             "benchmarks.json (into --out, default the JSON's directory)")


def config_from(args: argparse.Namespace) -> BenchConfig:
    config = BenchConfig()
    if args.smoke:
        # Invariants only: no instruments, a faster clock (redeliveries wait 4 s, not 7 s).
        config = replace(config, day=SMOKE_ORDERS, burst=0, compare=0, day_rate=0.0, smoke=True, settle_timeout=120.0,
                         reject_every=50, instruments=False, time_scale=0.01, flash_orders=0, quota_orders=0)
    overrides: dict[str, Any] = {}
    for field, name in (("day", "day"), ("burst", "burst"), ("compare", "compare"), ("day_rate", "day_rate"),
                        ("seed", "seed"), ("time_scale", "time_scale"), ("workers", "pipe_workers"),
                        ("flash", "flash_orders"), ("flash_rate", "flash_rate"), ("quota_orders", "quota_orders")):
        value = getattr(args, field, None)
        if value is not None:
            overrides[name] = value
    config = replace(config, **overrides)
    if min(config.day, config.burst, config.compare) < 0 or config.day_rate < 0:
        raise ValueError("counts and rates must not be negative")
    if not 0 < config.time_scale <= 1:
        raise ValueError("--time-scale must be in (0, 1]")
    return config


def command_line(argv: Sequence[str]) -> str:
    shown = "python -m ordermail.bench" + ("" if not argv else " " + shlex.join(argv))
    if os.environ.get("MAKELEVEL"):
        return f"make bench  (runs: {shown})"
    return shown


def run_bench(config: BenchConfig, *, out: Path | None, argv: Sequence[str],
              progress: Any = None) -> dict[str, Any]:
    """Run, build the report and write it; returns the report."""
    from .report import build_report
    from .run import run

    result = run(config, progress=progress)
    report = build_report(result, command=command_line(argv), argv=list(argv), machine=machine_facts())
    if out is not None:
        write_report(report, out)
    return report


def write_report(report: dict[str, Any], out: Path) -> None:
    from .report import markdown

    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
                                         encoding="utf-8")
    fast_paths = out / "fast_paths.json"  # `python -m ordermail.bench.fast_paths --out ...`, run on its own
    if fast_paths.exists():
        report = {**report, "fast_paths": json.loads(fast_paths.read_text(encoding="utf-8"))}
    (out / "BENCHMARKS.md").write_text(markdown(report), encoding="utf-8")


def render_existing(path: Path, out: Path) -> dict[str, Any]:
    """The report of an earlier run, with targets and analysis judged again by this code."""
    from .report import analysis, targets

    report = json.loads(path.read_text(encoding="utf-8"))
    report["targets"] = targets(report)
    report["analysis"] = analysis(report)
    write_report(report, out)
    return report


def print_summary(report: dict[str, Any], console: Console) -> None:
    runs = Table(title="ordermail bench — runs", show_lines=False)
    for column in ("run", "orders", "orders/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/order", "lost", "dup. mails",
                   "FAILED→replayed", "invariants"):
        runs.add_column(column, justify="right" if column not in ("run", "invariants") else "left")
    for name in ("day", "burst"):
        if name in report:
            r = report[name]
            runs.add_row(name, f"{r['orders']:,}", f"{r['orders_per_s']:.2f}", _n(r["p50_ms"]), _n(r["p95_ms"]),
                         _n(r["p99_ms"]), _n(r["cpu_ms_per_order"]), str(r["lost"]), str(r["duplicate_mails"]),
                         f"{r['failed_before_replay']}→{r['replayed']}", "pass" if r["invariants_ok"] else "FAIL")
    for label, c in report.get("compare", {}).items():
        if isinstance(c, dict):
            runs.add_row(f"compare: {label.replace('_', ' ')}", f"{c['orders']:,}", f"{c['orders_per_s']:.2f}", "", "",
                         _n(c["p99_ms"]), _n(c["cpu_ms_per_order"]), str(c["lost"]), str(c["duplicate_mails"]), "",
                         "pass" if c["invariants_ok"] else "FAIL")
    console.print(runs)
    targets = Table(title="targets")
    for column in ("target", "wanted", "measured", "verdict"):
        targets.add_column(column, overflow="fold")
    for t in report["targets"]:
        verdict = {True: "[green]met[/]", False: "[red]not met[/]", None: "not measured"}[t["met"]]
        targets.add_row(t["name"], t["target"], t["figure"], verdict)
    console.print(targets)
    if "cost" in report:
        c = report["cost"]
        console.print(f"cost: ${c['per_1000_mails_usd']:.4f} per 1,000 mails (SES floor ${c['ses_floor_per_1000_usd']:.2f}); "
                      f"${c['monthly_usd_at_2000_per_day']:.2f}/month at 2,000/day with free allowances, "
                      f"${c['monthly_usd_at_2000_per_day_list_price']:.2f} at list price; Express logs "
                      f"{c['express_log_setting']}", highlight=False)
    console.print(f"memory MB: {report['memory_mb']}; growth over the burst: {report.get('memory_growth_mb')}; "
                  f"whole bench {report['wall_seconds'] / 60:.1f} min", highlight=False)


def _n(value: Any) -> str:
    if value is None:
        return DASH
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def main(argv: Sequence[str] | None = None, prog: str = "python -m ordermail.bench") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else (None if args.smoke else Path("docs"))
    started = time.monotonic()
    if args.render is not None:
        out = args.out if args.out is not None else args.render.parent
        report = render_existing(args.render, out)
    else:
        report = run_bench(config, out=out, argv=argv)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    else:
        print_summary(report, Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160, highlight=False))
        if out is not None:
            print(f"wrote {out / 'BENCHMARKS.md'} and {out / 'benchmarks.json'} "
                  f"({(time.monotonic() - started) / 60:.1f} min)")
    if not report["invariants_ok"]:
        print("ordermail bench: an invariant failed (see the checks above / in the report)", file=sys.stderr)
        return 1
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """For the operator CLI (`ordermail bench`): same options, same behaviour."""
    parser = sub.add_parser("bench", help="benchmark on the embedded runtime (make bench)",
                            description="Day and burst runs on the embedded runtime; writes docs/BENCHMARKS.md "
                                        "and docs/benchmarks.json.")
    add_arguments(parser)
    parser.set_defaults(func=_run_from_cli)


def _run_from_cli(args: argparse.Namespace) -> int:
    argv = []
    for flag in ("day", "burst", "compare", "day_rate", "seed", "time_scale", "workers"):
        value = getattr(args, flag, None)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    if args.smoke:
        argv.append("--smoke")
    if args.out is not None:
        argv += ["--out", str(args.out)]
    if args.render is not None:
        argv += ["--render", str(args.render)]
    if getattr(args, "json", False):
        argv.append("--json")
    return main(argv, prog="ordermail bench")
