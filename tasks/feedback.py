"""Feedback processor: SES events (via the ses-events SNS topic) → the ledger, plus EMF metrics.

Per record: unwrap, parse, find the order (orderId tag first, else the SES message id index),
apply the event with optimistic locking. A malformed record is logged and counted
(`MalformedRecord`), never retried; an event for an unknown order/message is logged and counted
(`UnknownMessage`), never retried either (no error loop). A record that fails for another reason
(DynamoDB throttling, a lost optimistic-lock race, …) does not stop the others: the handler raises
once all records are processed, so Lambda's async retries and then the DLQ take the whole event
again — safe, because events already applied are recognized by their key.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks import clock, names
from tasks.adapters.ledger import FeedbackOutcome, FeedbackResult, ledger_for_table
from tasks.domain.ledger_view import order_timestamp
from tasks.domain.order import iso_utc_millis
from tasks.domain.ses_events import (
    IgnoredSesRecord,
    MalformedSesRecord,
    SesEvent,
    parse_ses_record,
    records_from_lambda_event,
)
from tasks.domain.status import Retention
from tasks.observability import logger, metrics, publish_metrics, tracer
from tasks.settings import get_settings

_COUNT_METRIC_BY_TYPE: Final = {
    "Delivery": names.METRIC_DELIVERIES,
    "Bounce": names.METRIC_BOUNCES,
    "Complaint": names.METRIC_COMPLAINTS,
    "Reject": names.METRIC_REJECTS,
    "DeliveryDelay": names.METRIC_DELIVERY_DELAYS,
}


class FeedbackRetry(Exception):  # the class name is the Lambda errorType
    """Some records could not be applied now; the event is retried as a whole."""


def _milliseconds_between(start: object, end: str) -> int | None:
    if not isinstance(start, str):
        return None
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (TypeError, ValueError):  # TypeError: one of them has no time zone
        return None
    milliseconds = delta // timedelta(milliseconds=1)
    return milliseconds if milliseconds >= 0 else None


def _emit_metrics(event: SesEvent, result: FeedbackResult) -> None:
    count_metric = _COUNT_METRIC_BY_TYPE.get(event.type)
    if count_metric is not None:
        metrics.add_metric(name=count_metric, unit=MetricUnit.Count, value=1)
    if event.type != "Delivery":
        return
    latency = _milliseconds_between(event.mail_timestamp, event.at)
    if latency is not None:
        metrics.add_metric(name=names.METRIC_DELIVERY_LATENCY, unit=MetricUnit.Milliseconds, value=latency)
    order_latency = _milliseconds_between(order_timestamp(result.item or {}), event.at)
    if order_latency is not None:
        metrics.add_metric(
            name=names.METRIC_ORDER_TO_DELIVERY_LATENCY, unit=MetricUnit.Milliseconds, value=order_latency
        )


def _count_malformed(where: str, problem: str, summary: Counter[str]) -> None:
    logger.warning("malformed feedback record skipped", extra={"where": where, "problem": problem})
    metrics.add_metric(name=names.METRIC_MALFORMED_RECORD, unit=MetricUnit.Count, value=1)
    summary["malformed"] += 1


@publish_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = get_settings()
    ledger = ledger_for_table(settings.ledger_table)
    retention = Retention(delivered=settings.delivered_retention_days, listed=settings.retention_days)
    unwrapped = records_from_lambda_event(event)
    summary: Counter[str] = Counter()
    for problem in unwrapped.problems:
        _count_malformed(problem.where, problem.problem, summary)

    failed: list[str] = []
    for where, record in unwrapped.records:
        try:
            ses_event = parse_ses_record(record)
        except IgnoredSesRecord as exc:
            logger.info("SES message without feedback ignored", extra={"where": where, "detail": str(exc)})
            summary["ignored"] += 1
            continue
        except MalformedSesRecord as exc:
            _count_malformed(where, str(exc), summary)
            continue

        context_keys = {"where": where, "type": ses_event.type, "sesMessageId": ses_event.ses_message_id}
        try:
            result = ledger.apply_feedback(ses_event, now=iso_utc_millis(clock.utc_now()), retention=retention)
        except Exception:
            logger.exception("feedback record failed; the event will be retried", extra=context_keys)
            failed.append(where)
            continue

        summary[result.outcome.value.lower()] += 1
        if result.outcome is FeedbackOutcome.UNKNOWN_ORDER:
            logger.warning(
                "SES event for an unknown order or message",
                extra={**context_keys, "taggedOrderId": ses_event.order_id},
            )
            metrics.add_metric(name=names.METRIC_UNKNOWN_MESSAGE, unit=MetricUnit.Count, value=1)
            continue
        logger.info(
            "feedback applied" if result.outcome is FeedbackOutcome.APPLIED else "feedback already applied",
            extra={
                **context_keys,
                "orderId": result.order_id,
                "status": (result.changes or {}).get("status", (result.item or {}).get("status")),
            },
        )
        if result.outcome is FeedbackOutcome.APPLIED:
            _emit_metrics(ses_event, result)

    if failed:
        raise FeedbackRetry(f"{len(failed)} record(s) failed and will be retried: {', '.join(failed)[:500]}")
    return dict(summary)
