"""What a running LocalRuntime reports: the records it keeps per mail, invocation and execution, and
the figures callers read from them (stats, SES feedback delivery, memory returned to the OS)."""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .pipe import ExecutionResult

if TYPE_CHECKING:
    from . import memory
    from .async_invoke import AsyncRetrier
    from .options import RuntimeOptions
    from .ses_events import EventPublisher

T = TypeVar("T")


@dataclass(slots=True)  # one per mail, kept for the runtime's life: no per-instance __dict__
class SentMail:
    message_id: str
    order_id: str | None
    recipients: list[str]
    subject: str
    at: float


@dataclass(slots=True)
class InvocationRecord:
    """A `seams.lambda_.Invocation` as the runtime keeps it (one per Lambda invocation): the same fields, no __dict__."""

    function_name: str
    started: float
    seconds: float
    errored: bool
    cpu_seconds: float = 0.0


@dataclass
class RuntimeStats:
    executions: list[ExecutionResult] = field(default_factory=list)
    invocations: list[InvocationRecord] = field(default_factory=list)
    sent: list[SentMail] = field(default_factory=list)


class RuntimeReports:
    """LocalRuntime's reporting half (runtime.py holds the lifecycle)."""

    options: RuntimeOptions
    stats_data: RuntimeStats
    _stats_lock: threading.Lock
    _publisher: EventPublisher | None
    _async: AsyncRetrier | None
    _trimmer: memory.IdleTrimmer | None

    def instrument(self, kind: type[T]) -> T:
        """The instrument of this type the runtime was started with (RuntimeOptions.instruments)."""
        for instrument in self.options.instruments:
            if isinstance(instrument, kind):
                return instrument
        raise LookupError(f"no {kind.__name__} in RuntimeOptions.instruments")

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            executions = list(self.stats_data.executions)
            invocations = list(self.stats_data.invocations)
            sent = len(self.stats_data.sent)
        latencies = [r.started * 1000 + r.seconds * 1000 - r.sent_timestamp_ms for r in executions
                     if r.status == "SUCCEEDED" and r.sent_timestamp_ms]
        by_function: dict[str, list[float]] = {}
        for invocation in invocations:
            by_function.setdefault(invocation.function_name, []).append(invocation.seconds * 1000)
        return {
            "executions": {
                "total": len(executions),
                "succeeded": sum(1 for r in executions if r.status == "SUCCEEDED"),
                "failed": sum(1 for r in executions if r.status != "SUCCEEDED"),
            },
            "mails_sent": sent,
            "ses_events_published": self._publisher.published if self._publisher else 0,
            "ses_events_unpublished": self._publisher.failed if self._publisher else 0,
            # SNS-triggered (asynchronous) invocations that failed: retried, recovered, dead-lettered
            "async_retries": ({"retried": self._async.retried, "recovered": self._async.recovered,
                               "dead_lettered": self._async.dead_lettered} if self._async else {}),
            "execution_ms": _percentiles([r.seconds * 1000 for r in executions]),
            "publish_to_end_ms": _percentiles(latencies),
            "lambda_ms": {name: _percentiles(values) for name, values in sorted(by_function.items())},
        }

    def feedback_delivery(self) -> dict[str, int]:
        """SES events published, given up on, and the feedback function's async retries so far."""
        publisher, retrier = self._publisher, self._async
        return {
            "ses_events_published": publisher.published if publisher else 0,
            "ses_events_unpublished": publisher.failed if publisher else 0,
            "async_retried": retrier.retried if retrier else 0,
            "async_recovered": retrier.recovered if retrier else 0,
            "async_dead_lettered": retrier.dead_lettered if retrier else 0,
        }

    def memory_returned(self) -> dict[str, float]:
        """How often the idle trimmer returned freed heap memory to the OS (memory.IdleTrimmer),
        how many bytes of RSS that gave back, and the seconds spent doing it."""
        trimmer = self._trimmer
        if trimmer is None:
            return {"trims": 0, "released_bytes": 0, "seconds": 0.0}
        return {"trims": trimmer.trims, "released_bytes": trimmer.released_bytes,
                "seconds": round(trimmer.trim_seconds, 4)}


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pick(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)

    return {"count": len(ordered), "p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99),
            "mean": round(statistics.fmean(ordered), 2), "max": round(ordered[-1], 2)}
