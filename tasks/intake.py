"""What the HTTP intake accepts: one constant shared by the CDK model and the local runtime.

The deployed API Gateway request validator checks a body against ORDER_BODY_SCHEMA (JSON Schema
draft 4); the local runtime validates with the same dict, so the two cannot drift. Everything
else about an order (items, address, ...) is the workflow's job: it records INVALID with a reason,
exactly as for an order published to SNS.
"""

from __future__ import annotations

from typing import Any, Final

from tasks import names

ORDER_BODY_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Order",
    "type": "object",
    "required": ["orderId"],
    "properties": {"orderId": {"type": "string"}},
}

# SNS caps a message at 256 KiB, message attributes included (name + data type + value bytes).
# The API publishes the body with one attribute, so this is what is left for the body. The deployed
# API lets SNS enforce it (SNS rejects the Publish, the integration response maps that to 400).
SNS_MAX_MESSAGE_BYTES: Final = 262_144
ORDER_MAX_BODY_BYTES: Final = SNS_MAX_MESSAGE_BYTES - len(
    names.ORDER_EVENT_TYPE_ATTRIBUTE + "String" + names.ORDER_EVENT_TYPE
)

BAD_BODY_MESSAGE: Final = "Invalid request body: expected a JSON object with a string orderId"
REJECTED_MESSAGE: Final = (
    f"Order rejected by SNS: over {ORDER_MAX_BODY_BYTES} bytes (the SNS message limit) or not a valid message"
)
FAILED_MESSAGE: Final = "Order not accepted (publishing failed): try again"
