"""The one Logger, Tracer and Metrics of the Lambda functions, and PII fingerprints for logs.

Customer e-mail addresses and names never go to logs in clear: log `fingerprint(value)`, a short
SHA-256 prefix that still lets an operator match log lines to a known address. The orderId is the
correlation id.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

from tasks import names

_Result = TypeVar("_Result")
_SERVICE = os.environ.get(names.ENV_POWERTOOLS_SERVICE) or names.SERVICE_NAME
_NAMESPACE = os.environ.get(names.ENV_POWERTOOLS_NAMESPACE) or names.METRICS_NAMESPACE

logger = Logger(service=_SERVICE)
tracer = Tracer(service=_SERVICE)
metrics = Metrics(namespace=_NAMESPACE, service=_SERVICE)


def fingerprint(value: str | None) -> str | None:
    """`sha256:` + 12 hex digits of the trimmed, lower-cased value; None stays None."""
    if value is None:
        return None
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest[:12]}"


def publish_metrics(handler: Callable[[Any, Any], _Result]) -> Callable[[Any, Any], _Result]:
    """Like `metrics.log_metrics`, minus its warning on invocations that recorded no metric.

    Recording nothing is normal here (every order valid, every feedback record a duplicate).
    """

    @functools.wraps(handler)
    def publishing(event: Any, context: Any) -> _Result:
        try:
            return handler(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return publishing
