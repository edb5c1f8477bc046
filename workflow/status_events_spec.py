"""Status events: what the stream Pipe filters, shared by the CDK construct
(workflow/status_events.py) and the local runtime (ordermail/emulator/status_events.py).

Standard library only, and no aws_cdk import: the runtime imports it without loading the CDK.
The event detail is built by the enrichment function (tasks/status_events.py).
"""

from __future__ import annotations

import json
from typing import Any, Final

from tasks import names

SOURCE: Final = names.SERVICE_NAME
DETAIL_TYPE: Final = "OrderEmailStatusChanged"
# PROCESSING is the workflow's claim, not an outcome: no event.
EVENT_STATUSES: Final = tuple(s for s in names.LEDGER_STATUSES if s != "PROCESSING")


def bus_name(env: str) -> str:
    """The stack's own bus, shared with the EventBridge intake (workflow/intake.py)."""
    return names.infra_names(env)["orders_event_bus"]


def _changed_to(status: str) -> dict[str, Any]:
    return {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {"status": {"S": [status]}},
            "OldImage": {"status": {"S": [{"anything-but": status}]}},
        },
    }


# One Pipe. A pattern cannot compare two fields, so one `$or` alternative per status (new is X,
# old is not X), plus an item born with an outcome (INVALID on its first write). Everything else
# is dropped before billing: duplicate-delivery counters, timeline appends, an SES event that does
# not move the status, a claim (PROCESSING), TTL deletes.
FILTER: Final[dict[str, Any]] = {
    "$or": [
        *(_changed_to(status) for status in EVENT_STATUSES),
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": list(EVENT_STATUSES)}}}},
    ]
}
ENRICHMENT_HANDLER: Final = "tasks.status_events.handler"
ENRICHMENT_LIMITS: Final = (10, 128)  # timeout seconds, memory MB: a pure function over <= 10 records
BATCH_SIZE: Final = 10  # PutEvents takes at most 10 entries; the Pipe sends one per detail


def pipe_name(env: str) -> str:
    return f"{names.SERVICE_NAME}-{env}-status-events"


def function_name(env: str) -> str:
    return f"{names.SERVICE_NAME}-{env}-status-events"


def filter_pattern() -> str:
    return json.dumps(FILTER, separators=(",", ":"))
