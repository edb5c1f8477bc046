"""The runs: day, burst and the stock-moto comparison, on the embedded runtime, in this process.

Every run publishes its workload to the orders topic through the SNS API (as the order service
would), waits until every input has a terminal ledger status (or sits in the DLQ), checks the
invariants, replays the FAILED orders once (as `ordermail replay --status FAILED` does), and checks
again. Counters are read before and after, so each run's figures are its own.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psutil

from ordermail.bench.meters import ApiCounter, CapacityMeter
from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.seams.faults import SesRejected
from tasks import names

from . import invariants
from .config import BenchConfig
from .instruments import (
    ExecutionProbe,
    LogCapture,
    PhaseTotals,
    held_memory_mb,
    percentiles,
    rss_mb,
    set_handler_log_level,
)
from .workload import Input, Workload, build


@dataclass
class Snapshot:
    perf: float
    cpu: float
    api: dict[str, dict[str, int]]
    api_cpu: dict[str, dict[str, float]]
    capacity: dict[str, Any]
    executions: int
    invocations: int
    sent: int
    ses_events: int
    log_lines: int
    log_bytes: int


@dataclass
class PhaseResult:
    name: str
    workload: Workload
    mode: str
    started_perf: float
    first_publish_perf: float
    publish_seconds: float
    settled_seconds: float
    end_perf: float
    before: Snapshot
    after: Snapshot
    totals: PhaseTotals | None
    verdict: invariants.Verdict
    latencies_ms: list[float]
    invocations: dict[str, dict[str, list[float]]]
    injected_rejections: int
    failures_before_replay: Counter[str]
    replay_seconds: float
    settled: bool
    notes: list[str] = field(default_factory=list)
    rss_after_mb: float | None = None
    rss_settled_mb: float | None = None
    memory_returned: dict[str, float] = field(default_factory=dict)  # the runtime's idle trims so far
    feedback_delivery: dict[str, int] = field(default_factory=dict)  # SES events and async retries in the run
    held_settled_mb: dict[str, float] = field(default_factory=dict)
    item_sizes: list[int] = field(default_factory=list)
    rss_samples: list[tuple[float, int, float]] = field(default_factory=list)  # (s since first publish, settled, MB)
    publish_count: int = 0

    @property
    def orders(self) -> int:
        return len(self.workload.inputs)

    @property
    def elapsed(self) -> float:
        return max(1e-9, self.end_perf - self.first_publish_perf)

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.elapsed

    @property
    def cpu_seconds(self) -> float:
        return self.after.cpu - self.before.cpu


def _snapshot(runtime: LocalRuntime, capture: LogCapture | None) -> Snapshot:
    stats = runtime.stats_data
    lines, size = capture.snapshot() if capture else (0, 0)
    publisher = runtime._publisher
    return Snapshot(
        perf=time.perf_counter(),
        cpu=time.process_time(),
        api=runtime.instrument(ApiCounter).snapshot(),
        api_cpu=runtime.instrument(ApiCounter).cpu_snapshot(),
        capacity=_capacity(runtime),
        executions=len(stats.executions),
        invocations=len(stats.invocations),
        sent=len(stats.sent),
        ses_events=publisher.published if publisher else 0,
        log_lines=lines,
        log_bytes=size,
    )


def _capacity(runtime: LocalRuntime) -> dict[str, Any]:
    try:
        return runtime.instrument(CapacityMeter).snapshot()
    except LookupError:  # a run without the meter reports no capacity
        return CapacityMeter().snapshot()


class Publisher:
    """Publishes orders to the orders topic; a helper thread races the concurrent duplicates."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._sns = runtime.client("sns")
        self._sns_racer = runtime.client("sns")
        self._topic = runtime.outputs["OrdersTopicArn"]
        self.first_perf: dict[str, float] = {}
        self.first_epoch: dict[str, float] = {}
        self.published = 0
        self.errors = 0

    def _publish(self, client: Any, body: str) -> None:
        try:
            client.publish(
                TopicArn=self._topic,
                Message=body,
                MessageAttributes={names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String",
                                                                      "StringValue": names.ORDER_EVENT_TYPE}},
            )
            self.published += 1
        except Exception:
            self.errors += 1
            raise

    def publish(self, item: Input, body: str | None = None) -> None:
        self.first_perf.setdefault(item.key, time.perf_counter())
        self.first_epoch.setdefault(item.key, time.time())
        self._publish(self._sns, body or item.body)

    def publish_race(self, item: Input, duplicate: str) -> None:
        """The original and its duplicate at the same instant, from two threads."""
        barrier = threading.Barrier(2)
        failure: list[BaseException] = []

        def racer() -> None:
            try:
                barrier.wait()
                self._publish(self._sns_racer, duplicate)
            except BaseException as exc:  # reported by the caller
                failure.append(exc)

        thread = threading.Thread(target=racer, name="bench-racer", daemon=True)
        thread.start()
        barrier.wait()
        self.publish(item)
        thread.join()
        if failure:
            raise failure[0]


def _schedule(workload: Workload, rate: float | None, rng: random.Random) -> list[tuple[float, int, Input, Any]]:
    """(time offset or rank, tie-break, input, repeat-or-None), sorted: when each publication happens."""
    events: list[tuple[float, int, Input, Any]] = []
    clock = 0.0
    n = len(workload.inputs)
    for index, item in enumerate(workload.inputs):
        if rate:
            clock += rng.expovariate(rate)
            at = clock
        else:
            at = float(index)
        events.append((at, 0, item, None))
        for repeat in item.repeats:
            if repeat.mode == "later":
                # Republished later: up to 30 s later in the day run, anywhere after it in a burst.
                later = at + 0.5 + repeat.delay_fraction * 30.0 if rate else at + repeat.delay_fraction * (n - index)
                events.append((later, 1, item, repeat))
    events.sort(key=lambda event: (event[0], event[1], event[2].seq))
    return events


def publish_workload(runtime: LocalRuntime, publisher: Publisher, workload: Workload, *, rate: float | None,
                     reject_every: int, rng: random.Random) -> tuple[float, int]:
    """Publish every input and repeat; returns (first publish perf time, SES rejections injected)."""
    events = _schedule(workload, rate, rng)
    start = time.perf_counter()
    originals = 0
    injected = 0
    for at, _, item, repeat in events:
        if rate:
            delay = start + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        if repeat is not None:
            publisher.publish(item, repeat.body)
            continue
        concurrent = [r for r in item.repeats if r.mode == "concurrent"]
        if concurrent:
            publisher.publish_race(item, concurrent[0].body)
        else:
            publisher.publish(item)
        originals += 1
        if reject_every and originals % reject_every == reject_every // 2:
            # SES refuses the next SendEmail for good (MessageRejected): that order ends FAILED.
            runtime.faults.add("ses", SesRejected())
            injected += 1
    return start, injected


STALL_SECONDS: Final = 120.0  # settle gives up when the runtime is idle and nothing moved for this long


def settle(runtime: LocalRuntime, inputs: list[Input], *, timeout: float,
           progress: Callable[[str], None] | None = None,
           samples: list[tuple[float, int, float]] | None = None) -> bool:
    """Wait until every input has a terminal status (or a DLQ message) and the runtime is idle.

    Polls the ledger once a second (a cheap read of the runtime's table, no API call), and only
    then asks the runtime whether it is idle: `wait_idle` counts the queue every 20 ms, which with
    thousands of messages queued would take CPU from the run being measured.
    """
    deadline = time.monotonic() + timeout
    expected = {item.key: item for item in inputs}
    last_report = time.monotonic()
    last_change, last_pending = time.monotonic(), -1
    while time.monotonic() < deadline:
        statuses = invariants.ledger_statuses(runtime)
        pending = [key for key, item in expected.items() if not _terminal(item, statuses.get(key))]
        if pending:
            in_dlq = invariants.dlq_keys(invariants.dlq_bodies(runtime), inputs)
            pending = [key for key in pending if not in_dlq.get(key)]
        if len(pending) != last_pending:
            last_change, last_pending = time.monotonic(), len(pending)
        elif pending and time.monotonic() - last_change > STALL_SECONDS and runtime.wait_idle(timeout=1.0):
            # Nothing left to run and nothing moved for a while: these orders will not settle.
            if progress:
                progress(f"  stalled: {len(pending)} orders not terminal with the runtime idle: "
                         + ", ".join(f"{key} ({statuses.get(key)})" for key in pending[:10]))
            return False
        if not pending:
            if runtime.wait_idle(timeout=min(30.0, max(0.1, deadline - time.monotonic()))):
                # Work that was still in flight may have moved an order (a redelivered FAILED one): look again.
                statuses = invariants.ledger_statuses(runtime)
                still = [key for key, item in expected.items() if not _terminal(item, statuses.get(key))]
                in_dlq = invariants.dlq_keys(invariants.dlq_bodies(runtime), inputs) if still else Counter()
                if all(in_dlq.get(key) for key in still):
                    return True
            continue
        if progress and time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            depth = runtime.queue_depths()["orders_queue"]
            rss = psutil.Process().memory_info().rss / 1e6
            if samples is not None:
                samples.append((round(time.perf_counter(), 1), len(expected) - len(pending), round(rss, 1)))
            progress(f"  … {len(expected) - len(pending):,}/{len(expected):,} settled, queue depth {depth:,}, "
                     f"RSS {rss:.0f} MB")
        time.sleep(1.0 if len(pending) > 20 else 0.1)
    return False


def _terminal(item: Input, status: str | None) -> bool:
    if item.expects_mail:
        return status in invariants.TERMINAL_FOR_MAIL
    return status == "INVALID"


def _end_perf(runtime: LocalRuntime, before: Snapshot, offset: float) -> float:
    """When the run's last piece of work (an execution or a feedback invocation) finished."""
    stats = runtime.stats_data
    ends = [result.started - offset + result.seconds for result in stats.executions[before.executions:]]
    ends += [invocation.started + invocation.seconds for invocation in stats.invocations[before.invocations:]]
    return max(ends) if ends else time.perf_counter()


def run_phase(runtime: LocalRuntime, workload: Workload, *, name: str, mode: str, rate: float | None,
              config: BenchConfig, probe: ExecutionProbe | None, capture: LogCapture | None,
              all_inputs: list[Input], progress: Callable[[str], None]) -> PhaseResult:
    rng = random.Random(f"{config.seed}:{name}:schedule")
    if probe is not None:
        probe.phase = name
    publisher = Publisher(runtime)
    before = _snapshot(runtime, capture)
    delivery_before = runtime.feedback_delivery()
    offset = time.time() - time.perf_counter()
    pace = f"{rate:.1f}/s" if rate else "as fast as possible"
    progress(f"{name}: publishing {len(workload.inputs):,} orders ({workload.messages:,} messages, {pace})")
    first_publish, injected = publish_workload(runtime, publisher, workload, rate=rate,
                                               reject_every=config.reject_every, rng=rng)
    publish_seconds = time.perf_counter() - first_publish
    progress(f"{name}: published in {publish_seconds:.1f}s; waiting for every order to settle")
    settle_timeout = config.settle_timeout + 0.5 * len(workload.inputs)  # a burst drains at a few orders/s
    rss_samples: list[tuple[float, int, float]] = []
    settled = settle(runtime, workload.inputs, timeout=settle_timeout, progress=progress, samples=rss_samples)
    end = _end_perf(runtime, before, offset)
    settled_seconds = time.perf_counter() - first_publish
    after = _snapshot(runtime, capture)
    # Memory as the run left the runtime, before the checks below (a full ledger scan through the
    # API, the outbox read back) raise the process's high-water mark.
    rss_settled = rss_mb()
    returned = runtime.memory_returned()
    delivery = {key: value - delivery_before.get(key, 0) for key, value in runtime.feedback_delivery().items()}
    held_settled = held_memory_mb(runtime)

    # Invariants, part 1: what the run left; then the replay of FAILED orders.
    items = invariants.ledger_items(runtime)
    failed = [item.key for item in workload.inputs if items.get(item.key, {}).get("status") == "FAILED"]
    failures = invariants.summarize_failures(items, failed)
    mails_before = invariants.mails_by_order(runtime)
    replay_started = time.perf_counter()
    if probe is not None:
        probe.phase = f"{name}:replay"
    replayed = invariants.replay_failed(runtime, items, failed)
    if replayed:
        progress(f"{name}: replaying {len(replayed)} FAILED orders ({dict(failures)})")
        replay_inputs = [item for item in workload.inputs if item.key in set(replayed)]
        settle(runtime, replay_inputs, timeout=min(config.settle_timeout, 120.0), progress=progress)
        items = invariants.ledger_items(runtime)
    replay_seconds = time.perf_counter() - replay_started
    verdict = invariants.check(
        inputs=workload.inputs,
        items=items,
        mails=invariants.mails_by_order(runtime),
        outbox=invariants.outbox_order_ids(runtime.outbox.directory),
        dlq=invariants.dlq_keys(invariants.dlq_bodies(runtime), all_inputs),
        failed_before_replay=failed,
        replayed=replayed,
        mails_before_replay=mails_before,
        all_inputs=all_inputs,
    )
    totals = probe.totals(name) if probe is not None else None
    latencies = []
    if totals is not None:
        for item in workload.inputs:
            sent = totals.sent_at.get(item.key)
            published = publisher.first_epoch.get(item.key)
            if sent is not None and published is not None:
                latencies.append((sent - published) * 1000)
    invocations: dict[str, dict[str, list[float]]] = {}
    for invocation in runtime.stats_data.invocations[before.invocations:after.invocations]:
        slot = invocations.setdefault(invocation.function_name, {"wall_ms": [], "cpu_ms": []})
        slot["wall_ms"].append(invocation.seconds * 1000)
        slot["cpu_ms"].append(invocation.cpu_seconds * 1000)
    result = PhaseResult(
        name=name, workload=workload, mode=mode, started_perf=before.perf, first_publish_perf=first_publish,
        publish_seconds=publish_seconds, settled_seconds=settled_seconds, end_perf=end, before=before, after=after,
        totals=totals, verdict=verdict, latencies_ms=latencies, invocations=invocations,
        injected_rejections=injected, failures_before_replay=failures, replay_seconds=replay_seconds,
        settled=settled,
    )
    result.rss_settled_mb = rss_settled
    result.memory_returned = returned
    result.feedback_delivery = delivery
    result.held_settled_mb = held_settled
    result.rss_samples = [(round(at - first_publish, 1), done, rss) for at, done, rss in rss_samples]
    result.item_sizes = invariants.item_sizes(runtime, [item.key for item in workload.inputs if item.expects_mail])
    result.publish_count = publisher.published
    if not settled:
        result.notes.append(f"did not settle within {settle_timeout:.0f}s")
    if publisher.errors:
        result.notes.append(f"{publisher.errors} publish errors")
    progress(f"{name}: {result.orders:,} orders in {result.elapsed:.1f}s = {result.orders_per_s:.1f} orders/s; "
             f"invariants {'OK' if verdict.ok else 'FAILED'} (lost {verdict.lost}, duplicate mails "
             f"{verdict.duplicate_mails}, FAILED→replayed {verdict.failed_before_replay}→{verdict.replayed})")
    return result


def _options(config: BenchConfig, outbox: Path, *, fast: bool, instruments: bool, seed_offset: int) -> RuntimeOptions:
    return RuntimeOptions(
        outbox_dir=outbox,
        time_scale=config.time_scale,
        pipe_workers=config.pipe_workers,
        fast=fast,
        iam=fast,  # the stock-moto baseline is moto as shipped: no IAM enforcement
        # An account with production access (14 mails/s, 50,000 a day, on the runtime's clock): these
        # runs measure the pipeline under injected faults, not the sandbox's 1 mail/s.
        ses_production_access=True,
        faults=config.faults(seed_offset),
        keep_history=instruments,
        # The request counter always (every run reports requests per mail); the capacity meter
        # only where the report reads it.
        instruments=(ApiCounter(), CapacityMeter()) if instruments else (ApiCounter(),),
    )


def _warm_up(runtime: LocalRuntime, config: BenchConfig) -> list[Input]:
    """A few orders through every handler first: cold imports are measured separately, not in the runs."""
    warm = build("warmup", 3, seed=config.seed)
    publisher = Publisher(runtime)
    for item in warm.inputs:
        publisher.publish(item)
    settle(runtime, warm.inputs, timeout=60)
    return warm.inputs


@dataclass
class BenchResult:
    config: BenchConfig
    phases: list[PhaseResult]
    compare: dict[str, PhaseResult]
    memory_mb: dict[str, float]
    cold_imports_ms: dict[str, float]
    wall_seconds: float
    held_mb: dict[str, dict[str, float]] = field(default_factory=dict)
    flash_sale: dict[str, Any] | None = None
    quota_wait: dict[str, Any] | None = None


def run(config: BenchConfig, progress: Callable[[str], None] | None = None) -> BenchResult:
    say = progress or (lambda message: print(message, file=sys.stderr, flush=True))
    started = time.perf_counter()
    from .coldstart import cold_import_times

    cold = {} if config.smoke else cold_import_times()
    if cold:
        say("cold imports (fresh interpreter each): " + ", ".join(f"{k} {v:.0f} ms" for k, v in cold.items()))
    workdir = Path(tempfile.mkdtemp(prefix="ordermail-bench-"))
    phases: list[PhaseResult] = []
    compare: dict[str, PhaseResult] = {}
    memory: dict[str, float] = {}
    held: dict[str, dict[str, float]] = {}
    flash_sale: dict[str, Any] | None = None
    quota_wait: dict[str, Any] | None = None
    capture = LogCapture()  # always: handler output never reaches the console; counted in the main runs
    try:
        probe = ExecutionProbe() if config.instruments else None
        options = _options(config, workdir / "outbox", fast=True, instruments=config.instruments, seed_offset=0)
        with capture.installed(), LocalRuntime(options) as runtime:
            if probe is not None:
                runtime.add_execution_listener(probe)
            all_inputs: list[Input] = _warm_up(runtime, config)
            if capture is not None:
                capture.reroute_new_handlers()
            set_handler_log_level(config.handler_log_level)
            memory["start"] = rss_mb()
            held["start"] = held_memory_mb(runtime)
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            plan = [("day", config.day, config.day_rate), ("burst", config.burst, None)]
            for name, count, rate in plan:
                if count <= 0:
                    continue
                workload = build(name, count, seed=config.seed)
                all_inputs.extend(workload.inputs)
                memory[f"before_{name}"] = rss_mb()
                result = run_phase(runtime, workload, name=name, mode="paced" if rate else "burst", rate=rate,
                                   config=config, probe=probe, capture=capture if config.instruments else None,
                                   all_inputs=all_inputs, progress=say)
                memory[f"after_{name}"] = result.rss_settled_mb or 0.0
                held[f"after_{name}"] = result.held_settled_mb
                result.rss_after_mb = memory[f"after_{name}_checks"] = rss_mb()
                say(f"{name}: resident memory {memory[f'after_{name}']:.0f} MB when settled, "
                    f"{memory[f'after_{name}_checks']:.0f} MB after the checks")
                phases.append(result)
        shutil.rmtree(workdir / "outbox", ignore_errors=True)
        if config.compare > 0:
            for label, fast in (("runtime", True), ("stock_moto", False)):
                options = _options(config, workdir / f"outbox-{label}", fast=fast, instruments=False, seed_offset=1)
                with capture.installed(), LocalRuntime(options) as runtime:
                    warm = _warm_up(runtime, config)
                    workload = build("compare", config.compare, seed=config.seed)
                    compare[label] = run_phase(runtime, workload, name=f"compare-{label}", mode="burst", rate=None,
                                               config=config, probe=None, capture=None,
                                               all_inputs=warm + workload.inputs, progress=say)
                shutil.rmtree(workdir / f"outbox-{label}", ignore_errors=True)
        from .flash import FlashSaleConfig, run_flash_sale, run_quota_wait

        peaks = FlashSaleConfig(send_rate_per_s=config.flash_rate, orders=config.flash_orders,
                                pipe_concurrency=config.flash_concurrency, quota_orders=config.quota_orders)
        with capture.installed():
            if config.flash_orders > 0:
                flash_sale = run_flash_sale(config, peaks, workdir, say)
            if config.quota_orders > 0:
                quota_wait = run_quota_wait(config, peaks, workdir, say)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return BenchResult(config=config, phases=phases, compare=compare, memory_mb=memory, cold_imports_ms=cold,
                       wall_seconds=time.perf_counter() - started, held_mb=held, flash_sale=flash_sale,
                       quota_wait=quota_wait)


def percentiles_of(values: list[float]) -> dict[str, float]:
    return percentiles(values)
