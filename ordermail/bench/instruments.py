"""What the benchmark measures besides wall time: log volume, execution outcomes, memory, machine.

- `LogCapture`: the Lambda handlers run in this process and log (Powertools JSON lines, EMF metric
  documents) to stdout, as they do on AWS, where each line becomes a CloudWatch Logs event. The
  capture counts those lines and bytes and throws them away.
- `ExecutionProbe`: an execution listener (`LocalRuntime.add_execution_listener`). From each
  execution's event history it takes the orderId, whether it recorded SENT, the state transitions
  and the size of the Express execution log at every log level, with and without execution data,
  in the record format Step Functions writes to CloudWatch Logs.
"""

from __future__ import annotations

import datetime
import gc
import io
import json
import logging
import math
import os
import platform
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import psutil

# CloudWatch Logs meters an event as its UTF-8 message plus 26 bytes (the PutLogEvents rule).
LOG_EVENT_OVERHEAD_BYTES: Final = 26
# Lambda's own lines per invocation (text log format): START, END and REPORT, the REPORT with the
# X-Ray segment the functions' active tracing adds. Typical lengths, measured on the templates below.
_REQUEST_ID: Final = "8f5a3b7e-1d2c-4e5f-9a8b-7c6d5e4f3a2b"
LAMBDA_PLATFORM_LINES: Final = (
    f"START RequestId: {_REQUEST_ID} Version: $LATEST",
    f"END RequestId: {_REQUEST_ID}",
    f"REPORT RequestId: {_REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\t"
    "Max Memory Used: 92 MB\t\nXRAY TraceId: 1-5e1b4151-5ac6c58f5b5dbd6a5ecd1a8c\tSegmentId: 1a2b3c4d5e6f7a8b\t"
    "Sampled: true\t",
)
LAMBDA_PLATFORM_BYTES_PER_INVOCATION: Final = sum(
    len(line.encode()) + LOG_EVENT_OVERHEAD_BYTES for line in LAMBDA_PLATFORM_LINES
)

# Step Functions log levels (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html):
# ERROR logs failures only, FATAL only the execution's own failure. Taken from moto's interpreter,
# which implements the same table.
_ERROR_TYPES: Final = frozenset({
    "ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut", "FailStateEntered", "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed", "LambdaFunctionStartFailed", "LambdaFunctionTimedOut", "MapStateAborted",
    "MapStateFailed", "MapIterationAborted", "MapIterationFailed", "MapRunAborted", "MapRunFailed",
    "ParallelStateAborted", "ParallelStateFailed", "TaskFailed", "TaskStartFailed", "TaskStateAborted",
    "TaskSubmitFailed", "TaskTimedOut", "WaitStateAborted",
})
_FATAL_TYPES: Final = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
_DATA_KEYS: Final = ("input", "inputDetails", "output", "outputDetails")
LOG_SETTINGS: Final = ("ALL+data", "ALL", "ERROR+data", "ERROR", "FATAL+data", "FATAL", "OFF")
SENT_STATES: Final = frozenset({"Sent", "SentUnrecorded"})


class LogCapture(io.TextIOBase):
    """A stdout stand-in that counts log lines (CloudWatch events) and their bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.lines = 0
        self.bytes = 0
        self._partial = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        with self._lock:
            newlines = data.count(b"\n")
            self.bytes += len(data) - newlines
            if newlines:
                self.lines += newlines
                self._partial = 0 if data.endswith(b"\n") else 1
            elif data:
                self._partial = 1
        return len(text)

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.lines + self._partial, self.bytes

    @contextmanager
    def installed(self) -> Iterator[LogCapture]:
        """Route stdout, and every logging handler writing to it, here for the duration."""
        original = sys.stdout
        rerouted: list[logging.StreamHandler[Any]] = []
        sys.stdout = self
        try:
            for handler in _stream_handlers():
                if handler.stream in (original, sys.__stdout__):
                    handler.setStream(self)
                    rerouted.append(handler)
            yield self
        finally:
            sys.stdout = original
            for handler in rerouted:
                handler.setStream(original)

    def reroute_new_handlers(self) -> None:
        """Handlers created after `installed()` (a handler module's first import) bound the real stdout."""
        for handler in _stream_handlers():
            if handler.stream in (sys.__stdout__,):
                handler.setStream(self)


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    return [h for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)]


def set_handler_log_level(level: str) -> None:
    """The deployed functions log at INFO (workflow/functions.py); the runtime's default is WARNING."""
    try:
        from tasks.observability import logger
    except ImportError:
        return
    logger.setLevel(level)


def _epoch_ms(timestamp: Any) -> str:
    if isinstance(timestamp, datetime.datetime):
        moment = timestamp
    else:
        moment = datetime.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return str(int(moment.timestamp() * 1000))


def express_log_sizes(history: list[dict[str, Any]], execution_arn: str) -> dict[str, tuple[int, int]]:
    """(events, bytes) the execution would write to CloudWatch Logs, per log setting.

    Each record as Step Functions writes it for Express workflows: id, type, details (the history
    event's details, without input/output when execution data is off), previous_event_id,
    event_timestamp (epoch ms), execution_arn; bytes include the per-event overhead.
    """
    sizes = {setting: [0, 0] for setting in LOG_SETTINGS}
    for event in history:
        raw_type = event.get("type")
        event_type = str(getattr(raw_type, "value", raw_type))  # moto's HistoryEventType is a str Enum
        details: dict[str, Any] | None = None
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict):
                details = value
                break
        record: dict[str, Any] = {"id": str(event.get("id")), "type": event_type}
        with_data = dict(record)
        if details is not None:
            with_data["details"] = details
            record["details"] = {k: v for k, v in details.items() if k not in _DATA_KEYS}
        tail = {
            "previous_event_id": str(event.get("previousEventId", 0)),
            "event_timestamp": _epoch_ms(event.get("timestamp")),
            "execution_arn": execution_arn,
        }
        full = len(json.dumps({**with_data, **tail}, separators=(",", ":")).encode()) + LOG_EVENT_OVERHEAD_BYTES
        bare = (len(json.dumps({**record, **tail}, separators=(",", ":")).encode()) + LOG_EVENT_OVERHEAD_BYTES
                if details is not None and any(k in details for k in _DATA_KEYS) else full)
        for level, types in (("ALL", None), ("ERROR", _ERROR_TYPES), ("FATAL", _FATAL_TYPES)):
            if types is None or event_type in types:
                sizes[f"{level}+data"][0] += 1
                sizes[f"{level}+data"][1] += full
                sizes[level][0] += 1
                sizes[level][1] += bare
    return {setting: (values[0], values[1]) for setting, values in sizes.items()}


def _order_id_of_input(history: list[dict[str, Any]]) -> str | None:
    for event in history:
        details = event.get("executionStartedEventDetails")
        if details is None:
            continue
        try:
            records = json.loads(details.get("input") or "null")
            if isinstance(records, str):
                records = json.loads(records)
            body = json.loads(records[0]["body"])
            order_id = body.get("orderId") if isinstance(body, dict) else None
            return order_id.strip() if isinstance(order_id, str) else None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None
    return None


@dataclass
class PhaseTotals:
    executions: int = 0
    succeeded: int = 0
    first_receives: int = 0  # distinct SQS messages (ApproximateReceiveCount == 1)
    transitions: int = 0
    history_events: int = 0
    log_events: Counter[str] = field(default_factory=Counter)
    log_bytes: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    durations_ms: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)  # orderId -> epoch when its execution ended SENT
    last_end: float = 0.0


class ExecutionProbe:
    """Execution listener: per-phase totals and, per order, when its execution recorded SENT."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.phase = "setup"
        self.phases: dict[str, PhaseTotals] = {}
        self.failures = 0

    def totals(self, phase: str) -> PhaseTotals:
        with self._lock:
            return self.phases.setdefault(phase, PhaseTotals())

    def __call__(self, result: Any) -> None:
        history = result.history or []
        end = result.started + result.seconds
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        outcome = next((name for name in reversed(entered)), result.status)
        sizes = express_log_sizes(history, result.execution_arn) if history else {}
        order_id = _order_id_of_input(history) if history else None
        with self._lock:
            totals = self.phases.setdefault(self.phase, PhaseTotals())
            totals.executions += 1
            totals.succeeded += result.status == "SUCCEEDED"
            totals.first_receives += result.receive_count == 1
            totals.transitions += len(entered)
            totals.history_events += len(history)
            totals.outcomes[outcome] += 1
            if result.error:
                totals.errors[str(result.error)] += 1
            totals.durations_ms.append(result.seconds * 1000)
            for setting, (events, size) in sizes.items():
                totals.log_events[setting] += events
                totals.log_bytes[setting] += size
            if order_id is not None and SENT_STATES.intersection(entered):
                totals.sent_at.setdefault(order_id, end)
            totals.last_end = max(totals.last_end, end)


def rss_mb() -> float:
    """Resident memory after a full collection (MB = 10^6 bytes)."""
    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def machine_facts() -> dict[str, Any]:
    import boto3
    import moto

    cpu_model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = psutil.virtual_memory().total
    return {
        "cpu_model": cpu_model,
        "logical_cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(memory / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "moto": moto.__version__,
        "boto3": boto3.__version__,
        "switch_interval_ms": sys.getswitchinterval() * 1000,
    }


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pick(fraction: float) -> float:  # nearest rank
        index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
        return round(ordered[index], 2)

    return {"count": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99),
            "max": round(ordered[-1], 2), "mean": round(sum(ordered) / len(ordered), 2)}


_PLAIN = (dict, list, tuple, set, frozenset, str, bytes, int, float, bool, type(None))


def deep_size(root: Any, *, modules: tuple[str, ...]) -> int:
    """Bytes held by `root` and everything it reaches through plain containers and instances of
    classes from `modules` (so a walk from moto's table items never escapes into the backend)."""
    from decimal import Decimal

    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (*_PLAIN, Decimal)):
            total += sys.getsizeof(obj)
            if isinstance(obj, dict):
                stack.extend(obj.keys())
                stack.extend(obj.values())
            elif isinstance(obj, list | tuple | set | frozenset):
                stack.extend(obj)
            continue
        module = type(obj).__module__ or ""
        if not module.startswith(modules):
            continue
        total += sys.getsizeof(obj)
        attributes = getattr(obj, "__dict__", None)
        if attributes is not None:
            # CPython 3.11+ keeps an instance's attributes inline (a pointer each) until something
            # asks for __dict__; count them as such rather than as the dict this walk just created.
            total += 8 * len(attributes) + 16
            stack.extend(attributes.values())
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                stack.append(getattr(obj, slot))
    return total


def held_memory_mb(runtime: Any, sample: int = 300) -> dict[str, float]:
    """What the runtime legitimately keeps, in MB: the ledger (moto's in-memory DynamoDB items) and its
    own per-execution / per-invocation / per-mail records. Walks a sample and scales it, so the
    measurement itself does not raise the process's memory high-water mark."""
    import random

    from ordermail.emulator.compact_items import CompactItems

    from .invariants import ledger_table

    table = ledger_table(runtime)
    rng = random.Random(0)

    def scaled(objects: list[Any], modules: tuple[str, ...]) -> float:
        if not objects:
            return 0.0
        chosen = objects if len(objects) <= sample else rng.sample(objects, sample)
        return sum(deep_size(obj, modules=modules) for obj in chosen) / len(chosen) * len(objects)

    stats = runtime.stats_data
    records = (scaled(list(stats.executions), ("ordermail.emulator",))
               + scaled(list(stats.invocations), ("ordermail.emulator",))
               + scaled(list(stats.sent), ("ordermail.emulator",)))
    if isinstance(table.items, CompactItems):  # fast mode: encoded blobs, plus their keys and any decoded items
        keys, hot = table.items.keys_and_hot()
        ledger_bytes = (table.items.stored_bytes() + scaled(keys, ("moto.dynamodb",))
                        + scaled(hot, ("moto.dynamodb",)))
        count = len(keys)
    else:
        items = list(table.items.values())
        ledger_bytes, count = scaled(items, ("moto.dynamodb",)), len(items)
    return {"ledger_items": count, "ledger_mb": ledger_bytes / 1e6, "runtime_records_mb": records / 1e6}
