"""Render step of the order-email state machine (state `Render`): `{"order": …}` → `{subject, html, text}`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.domain.rendering import render_normalized_order
from tasks.observability import logger, tracer
from tasks.settings import get_settings


@tracer.capture_lambda_handler(capture_response=False, capture_error=False)  # both carry PII
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    order = event.get("order") if isinstance(event, dict) else None
    order_id = order.get("orderId") if isinstance(order, dict) else None
    if isinstance(order_id, str):
        logger.set_correlation_id(order_id)
        logger.append_keys(orderId=order_id)
    rendered = render_normalized_order(order, shop_name=get_settings().shop_name)
    logger.info(
        "order rendered",
        extra={"htmlBytes": len(rendered.html.encode("utf-8")), "textBytes": len(rendered.text.encode("utf-8"))},
    )
    return rendered.to_json_dict()
