"""Powertools in one process with several handler threads: its metric set and log keys get locks."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

if TYPE_CHECKING:
    from .patches import Patches

# What the handlers' one Powertools `Metrics` does to its (process-wide) metric set.
POWERTOOLS_METRIC_METHODS: Final = (
    "add_metric", "add_dimension", "add_metadata", "serialize_metric_set", "flush_metrics", "clear_metrics",
)
# What the handlers' one Powertools `Logger` does to its formatter's (process-wide) keys.
POWERTOOLS_FORMATTER_METHODS: Final = ("append_keys", "remove_keys", "clear_state", "format")

SEAMS: dict[str, tuple[object, str]] = {
    **{f"powertools_metrics_{name}": (AmazonCloudWatchEMFProvider, name) for name in POWERTOOLS_METRIC_METHODS},
    **{f"powertools_logger_{name}": (LambdaPowertoolsFormatter, name) for name in POWERTOOLS_FORMATTER_METHODS},
}


def install_powertools_locks(patches: Patches) -> None:
    """Seams `powertools_metrics_*`, `powertools_logger_*`: locks around the handlers' Powertools
    metric set and log keys.

    On AWS each function instance is a process handling one event at a time. Here the validate,
    render and feedback handlers run on several threads of one process and share tasks/observability's
    `Metrics` and `Logger`, whose metric set and log keys are plain dicts: a flush (or a log line) on
    one thread while another adds a metric (or appends keys) fails with "dictionary changed size
    during iteration" — an error AWS could never raise.
    """
    metrics_lock = threading.RLock()
    logger_lock = threading.RLock()

    def locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return call

    for name in POWERTOOLS_METRIC_METHODS:
        patches.replace(AmazonCloudWatchEMFProvider, name,
                        locked(vars(AmazonCloudWatchEMFProvider)[name], metrics_lock))
    for name in POWERTOOLS_FORMATTER_METHODS:
        patches.replace(LambdaPowertoolsFormatter, name, locked(vars(LambdaPowertoolsFormatter)[name], logger_lock))
