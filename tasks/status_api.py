"""Read-only status API (API Gateway REST, Lambda proxy, IAM-protected at the gateway).

- `GET /orders/{orderId}` → 200 with the order's status document (tasks.domain.ledger_view), or 404.
- `GET /orders?status=FAILED&since=24h&limit=50` → the orders in that status updated since then,
  newest first. `since` is a duration (`90m`, `24h`, `7d`) or an ISO 8601 time (default 24h);
  `limit` is 1-200 (default 50). 400 on an unknown status, a bad `since` or a bad `limit`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks import clock, names
from tasks.adapters.ledger import ledger_for_table
from tasks.domain.ledger_view import SUMMARY_PROJECTION, order_summary, order_view
from tasks.domain.order import iso_utc_millis
from tasks.observability import logger, tracer
from tasks.settings import get_settings

DEFAULT_SINCE: Final = "24h"
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
_DURATION = re.compile(r"(\d{1,6})([mhd])")
_UNIT: Final = {"m": "minutes", "h": "hours", "d": "days"}

app = APIGatewayRestResolver()


def parse_since(value: str, *, now: datetime) -> str:
    """`24h` / `90m` / `7d` before now, or an ISO 8601 time → ISO UTC with milliseconds (the
    ledger's `updatedAt` format, compared as a string by the index). ValueError when neither."""
    text = value.strip()
    duration = _DURATION.fullmatch(text)
    if duration:
        amount, unit = duration.groups()
        return iso_utc_millis(now - timedelta(**{_UNIT[unit]: int(amount)}))
    moment = datetime.fromisoformat(text)  # raises ValueError
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_utc_millis(moment)


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(value)


def _ledger() -> Any:
    return ledger_for_table(get_settings().ledger_table)


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict[str, Any]:
    order_id = unquote(order_id)  # a REST API hands the path over still percent-encoded
    logger.set_correlation_id(order_id)
    item = _ledger().get(order_id)
    if item is None:
        raise NotFoundError(f"order {order_id} not found")
    return order_view(item)


@app.get("/orders")
def list_orders() -> dict[str, Any]:
    event = app.current_event
    status = (event.get_query_string_value("status") or "").strip().upper()
    if status not in names.LEDGER_LISTED_STATUSES:
        # The index is sparse (docs/LEDGER.md): a PROCESSING/SENT/DELIVERED listing would be a table
        # scan, which an unauthenticated-cost API must not offer; `ordermail status` can.
        raise BadRequestError(f"status must be one of {', '.join(names.LEDGER_LISTED_STATUSES)}")
    since_text = event.get_query_string_value("since") or DEFAULT_SINCE
    try:
        since = parse_since(since_text, now=clock.utc_now())
    except (ValueError, OverflowError):
        raise BadRequestError("since must be a duration such as 90m, 24h, 7d or an ISO 8601 time") from None
    try:
        limit = parse_limit(event.get_query_string_value("limit"))
    except ValueError as exc:
        raise BadRequestError(str(exc)) from None
    items = _ledger().recent_by_status(status, since, limit, projection=SUMMARY_PROJECTION)
    return {"status": status, "since": since, "limit": limit, "orders": [order_summary(item) for item in items]}


@logger.inject_lambda_context(log_event=False, clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)  # responses carry customer addresses
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
