"""Resource names, environment keys and context defaults: the one module every part shares.

The CDK app (`workflow/`), the Lambda handlers (`tasks/`), the embedded runtime (`ordermail/emulator`)
and the CLI all read names from here, so a resource is called the same everywhere.
Standard library only: this module ships inside the Lambda asset.
"""

from __future__ import annotations

from typing import Final

SERVICE_NAME: Final = "ordermail"
METRICS_NAMESPACE: Final = "OrderMail"
STACK_NAME_PREFIX: Final = "OrderMail"  # stack name is f"{STACK_NAME_PREFIX}-{env}"

# --- the orders topic contract -------------------------------------------------------------
ORDER_EVENT_TYPE_ATTRIBUTE: Final = "eventType"
ORDER_EVENT_TYPE: Final = "OrderConfirmed"

# --- message attributes the operator CLI puts on queue messages (replay / resend) -----------
RESEND_ID_ATTRIBUTE: Final = "ordermailResendId"
RESEND_BY_ATTRIBUTE: Final = "ordermailResendBy"
RESEND_REASON_ATTRIBUTE: Final = "ordermailResendReason"
REPLAY_ATTRIBUTE: Final = "ordermailReplay"

# --- SES -----------------------------------------------------------------------------------
SES_TAG_ORDER_ID: Final = "orderId"  # plain orderId, when it only has SES-safe characters
SES_TAG_ORDER_ID_B32: Final = "orderIdB32"  # base32 of the UTF-8 orderId otherwise
SES_TAG_ENVIRONMENT: Final = "environment"
SES_SIMULATOR_DOMAIN: Final = "simulator.amazonses.com"
SES_EVENT_TYPES: Final = (
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "DELIVERY_DELAY",
    "RENDERING_FAILURE",
)

# --- the ledger (DynamoDB) -----------------------------------------------------------------
LEDGER_PARTITION_KEY: Final = "orderId"
LEDGER_TTL_ATTRIBUTE: Final = "expiresAt"
LEDGER_STATUS_INDEX: Final = "byStatus"  # PK status, SK updatedAt
LEDGER_MESSAGE_ID_INDEX: Final = "bySesMessageId"  # PK sesMessageId

# --- workflow timing -----------------------------------------------------------------------
EXPRESS_MAX_SECONDS: Final = 300
CLAIM_LEASE_SECONDS: Final = 360  # longer than an Express execution can live
QUEUE_VISIBILITY_SECONDS: Final = 360  # above the workflow's maximum duration

# --- environment variable keys of the Lambda functions -------------------------------------
ENV_ENVIRONMENT: Final = "ORDERMAIL_ENV"
ENV_LEDGER_TABLE: Final = "LEDGER_TABLE_NAME"
ENV_DEFAULT_CURRENCY: Final = "DEFAULT_CURRENCY"
ENV_SES_SANDBOX: Final = "SES_SANDBOX"
ENV_SANDBOX_RECIPIENT: Final = "SANDBOX_RECIPIENT"
ENV_RETENTION_DAYS: Final = "RETENTION_DAYS"
ENV_SHOP_NAME: Final = "SHOP_NAME"
ENV_POWERTOOLS_SERVICE: Final = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
ENV_LOG_LEVEL: Final = "POWERTOOLS_LOG_LEVEL"

# --- CDK context keys and their defaults (cdk.json holds the same defaults) ----------------
CONTEXT_DEFAULTS: Final[dict[str, object]] = {
    "env": "dev",
    "domain": "shop.example",
    "fromAddress": "no-reply@shop.example",
    "shopName": "Example Shop",
    "hostedZoneId": "",
    "sesSandbox": None,  # None: true outside prod
    "sandboxRecipient": f"success@{SES_SIMULATOR_DOMAIN}",
    "alarmEmail": "",
    "publisherPrincipals": "",  # comma-separated ARNs; empty: the deploying account
    "retentionDays": 90,
    "logRetentionDays": 30,
    "maxReceiveCount": 5,
    "defaultCurrency": "USD",
    "bounceRateThreshold": 0.02,
    "complaintRateThreshold": 0.001,
    "monthlyBudgetUsd": 10,
    "executionLogLevel": "ERROR",
}
ENVIRONMENTS: Final = ("dev", "test", "prod")


def resource_names(env: str) -> dict[str, str]:
    """Physical names for the resources the local runtime creates and the CDK app names."""
    prefix = f"{SERVICE_NAME}-{env}"
    return {
        "orders_topic": f"{prefix}-orders",
        "ses_events_topic": f"{prefix}-ses-events",
        "ops_topic": f"{prefix}-ops",
        "orders_queue": f"{prefix}-orders",
        "orders_dlq": f"{prefix}-orders-dlq",
        "feedback_dlq": f"{prefix}-feedback-dlq",
        "ledger_table": f"{prefix}-ledger",
        "state_machine": f"{prefix}-order-email",
        "validate_function": f"{prefix}-validate",
        "render_function": f"{prefix}-render",
        "feedback_function": f"{prefix}-feedback",
        "status_api_function": f"{prefix}-status-api",
        "configuration_set": f"{prefix}-events",
        "pipe": f"{prefix}-orders-pipe",
        "execution_log_group": f"/aws/vendedlogs/states/{prefix}-order-email",
    }


def stack_name(env: str) -> str:
    return f"{STACK_NAME_PREFIX}-{env}"

ENV_CLAIM_LEASE_SECONDS: Final = "CLAIM_LEASE_SECONDS"
ENV_ORDERMAIL_TIME_SCALE: Final = "ORDERMAIL_TIME_SCALE"  # the local runtime's clock factor; unset on AWS
