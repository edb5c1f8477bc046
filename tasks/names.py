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
# The configuration set's published event types. Not SEND: the workflow records SENT itself
# (RecordSent), and every mail still ends in a Delivery, Bounce, Reject or DeliveryDelay event that
# repairs an unrecorded send; a Send event would cost an SNS publish, a feedback invocation and a
# whole-item ledger write per mail for nothing (docs/BENCHMARKS.md, cost).
SES_EVENT_TYPES: Final = (
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
# Sparse: only items whose status an operator lists (LEDGER_LISTED_STATUSES) carry `listedStatus`, so a
# mail that goes PROCESSING → SENT → DELIVERED never writes an index entry (docs/LEDGER.md).
LEDGER_STATUS_INDEX: Final = "byListedStatus"  # PK listedStatus, SK updatedAt
LEDGER_LISTED_STATUS_ATTRIBUTE: Final = "listedStatus"
# The header every mail carries, so SES notifications without our tags still name their order.
ORDER_ID_HEADER: Final = "X-OrderMail-Order-Id"

# --- workflow timing -----------------------------------------------------------------------
EXPRESS_MAX_SECONDS: Final = 300
# --- send pacing (issue 12: docs/PACING.md) ----------------------------------------------------
# The state machine takes a slot in a one-second window of the pacing table before every SendEmail;
# a full window waits a second and tries the next. An order that waits longer than this gives its
# claim back and goes back to the queue as a new message (its receive count starts again).
PACING_BUCKET: Final = "ses-send"
PACING_PARTITION_KEY: Final = "bucket"
# From Validate on. The Express execution ends at 300 s, and an execution that times out while
# SendEmail is in flight has sent a mail it cannot record (a redelivery would send it again): the
# rest of the 300 s is Send's own retries (TimeoutSeconds 30) and RecordSent.
PACING_MAX_WAIT_SECONDS: Final = 180
ENV_PACING_MAX_WAIT_SECONDS: Final = "PACING_MAX_WAIT_SECONDS"
PACING_REQUEUE_DELAY_SECONDS: Final = 60
QUOTA_REQUEUE_DELAY_SECONDS: Final = 900  # SQS's longest delay: a spent daily quota frees slowly
SES_SANDBOX_SEND_RATE: Final = 1  # what AWS grants a new account (SES sandbox)
SES_PRODUCTION_SEND_RATE: Final = 14  # the first production-access figure
# A message the workflow put back on the queue carries the ledger's compressed request as its body
# (base64), marked by this attribute; Validate unpacks it (tasks/domain/ledger_codec.py).
REQUEUED_ATTRIBUTE: Final = "ordermailRequeued"
REQUEUED_FORMAT: Final = "deflate-v1"

CLAIM_LEASE_SECONDS: Final = 310  # an Express execution lives at most 300 s; below the visibility timeout
QUEUE_VISIBILITY_SECONDS: Final = 360  # above the workflow's maximum duration

# --- environment variable keys of the Lambda functions -------------------------------------
ENV_ENVIRONMENT: Final = "ORDERMAIL_ENV"
ENV_LEDGER_TABLE: Final = "LEDGER_TABLE_NAME"
ENV_DEFAULT_CURRENCY: Final = "DEFAULT_CURRENCY"
ENV_SES_SANDBOX: Final = "SES_SANDBOX"
ENV_SANDBOX_RECIPIENT: Final = "SANDBOX_RECIPIENT"
ENV_RETENTION_DAYS: Final = "RETENTION_DAYS"
ENV_DELIVERED_RETENTION_DAYS: Final = "DELIVERED_RETENTION_DAYS"
ENV_SHOP_NAME: Final = "SHOP_NAME"
ENV_POWERTOOLS_SERVICE: Final = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
ENV_LOG_LEVEL: Final = "POWERTOOLS_LOG_LEVEL"

# --- CDK context keys and their defaults (cdk.json holds the same defaults) ----------------
# The share of executions X-Ray records (a sampling rule with no reservoir); context traceSampleRate.
TRACE_SAMPLE_RATE: Final = 0.01
# The handlers' own log lines (Powertools) below WARNING are dropped: the ledger timeline is the per-order
# record, and INFO lines repeating it were most of the log bytes a mail cost (docs/BENCHMARKS.md). EMF
# metric lines are printed, not logged, so every level keeps them.
# A delivered order's item expires this many days after its Delivery event; orders that need a look
# (the listed statuses) keep `retentionDays`. Delivered is ~97 % of orders, so this is most of the
# ledger's storage; 30 days is twice SQS's longest redelivery window (docs/LEDGER.md).
DELIVERED_RETENTION_DAYS: Final = 30
FUNCTION_LOG_LEVEL: Final = "WARNING"
FUNCTION_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
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
    "deliveredRetentionDays": DELIVERED_RETENTION_DAYS,
    "logRetentionDays": 30,
    "maxReceiveCount": 5,
    "defaultCurrency": "USD",
    "bounceRateThreshold": 0.02,
    "complaintRateThreshold": 0.001,
    "monthlyBudgetUsd": 10,
    "executionLogLevel": "ERROR",
    "traceSampleRate": TRACE_SAMPLE_RATE,
    "functionLogLevel": FUNCTION_LOG_LEVEL,
    # Intake (docs/ARCHITECTURE.md "Intakes"): the HTTP API's stage throttling, the EventBridge
    # bus (empty: the stack creates ordermail-<env>) and sources (empty: any source), and a queue
    # the shop already has (empty: the stack's topic and queue).
    "ordersApiRateLimit": 50,
    "ordersApiBurstLimit": 100,
    "ordersEventBusName": "",
    "ordersEventSources": "",
    "ordersQueueArn": "",
    "ordersQueueKeyArn": "",
    "sesMaxSendRate": "",  # empty: 1 mail/s with the sandbox guard on, else 14 (docs/PACING.md)
    "sesDailyQuota": "",  # empty: 200 with the sandbox guard on, else 50,000
    # Customer lookup by id (workflow/lookup.py): the shop's users table (empty: off, customerEmail
    # required), its key and the attributes read from it.
    "usersTable": "",
    "usersTableKey": "customerId",
    "usersEmailAttribute": "email",
    "usersNameAttribute": "name",
    "usersLocaleAttribute": "",
    "usersTableKeyArn": "",
    # Status events (docs/EVENTS.md): off by default (they cost per mail); naming a bus turns them on.
    "statusEvents": False,
    "statusEventBusName": "",
}
ENVIRONMENTS: Final = ("dev", "test", "prod")

# Each function's timeout (seconds) and memory (MB): the CDK app sets them, the local runtime
# creates its functions with them (its Lambda context reports the same remaining time).
FUNCTION_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "validate_function": (10, 256),
    "render_function": (15, 512),  # Jinja2 compiles the templates on a cold start
    "feedback_function": (30, 256),
    "status_api_function": (10, 256),
}


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
        "pacing_table": f"{prefix}-send-pacing",
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

# --- stack outputs (contract: CloudFormation outputs of names.stack_name(env); the CLI reads them) --
STACK_OUTPUT_KEYS: Final = (
    "OrdersTopicArn",
    "SesEventsTopicArn",
    "LedgerTableName",
    "StateMachineArn",
    "OrdersQueueUrl",
    "DeadLetterQueueUrl",
    "StatusApiUrl",
    "DashboardUrl",
)
# Outputs of the HTTP and EventBridge intakes: absent when context ordersQueueArn replaces them
# (as are OrdersTopicArn and DeadLetterQueueUrl); the CLI needs them only for `publish --via`.
INTAKE_OUTPUT_KEYS: Final = ("OrdersApiUrl", "OrdersEventBusName")
# Only with status events on (context statusEvents / statusEventBusName, docs/EVENTS.md).
STATUS_EVENT_OUTPUT_KEYS: Final = ("StatusEventBusName",)

# --- ledger statuses (docs/LEDGER.md) -------------------------------------------------------
LEDGER_STATUSES: Final = (
    "PROCESSING", "SENT", "DELAYED", "DELIVERED", "BOUNCED", "COMPLAINED", "REJECTED", "SUPPRESSED",
    "INVALID", "FAILED",
)
# Statuses where the mail has gone out: replay refuses them (a copy needs `ordermail resend --reason`).
LEDGER_SENT_STATUSES: Final = (
    "SENT", "DELAYED", "DELIVERED", "BOUNCED", "COMPLAINED", "REJECTED", "SUPPRESSED",
)

# Statuses the byListedStatus index holds: the ones that need an operator (or a look). PROCESSING,
# SENT and DELIVERED are the normal path; listing them scans the table (`ordermail status` says so).
LEDGER_LISTED_STATUSES: Final = (
    "DELAYED", "BOUNCED", "COMPLAINED", "REJECTED", "SUPPRESSED", "INVALID", "FAILED",
)

# --- EMF metrics of the Lambda handlers (namespace METRICS_NAMESPACE, dimension service) ---
METRIC_DELIVERIES: Final = "Deliveries"
METRIC_BOUNCES: Final = "Bounces"
METRIC_COMPLAINTS: Final = "Complaints"
METRIC_REJECTS: Final = "Rejects"
METRIC_DELIVERY_DELAYS: Final = "DeliveryDelays"
METRIC_UNKNOWN_MESSAGE: Final = "UnknownMessage"
METRIC_MALFORMED_RECORD: Final = "MalformedRecord"
METRIC_DELIVERY_LATENCY: Final = "DeliveryLatency"  # ms, SES send -> delivery
METRIC_ORDER_TO_DELIVERY_LATENCY: Final = "OrderToDeliveryLatency"  # ms, order timestamp -> delivery
METRIC_INVALID_ORDERS: Final = "InvalidOrders"

# --- infrastructure (workflow/): names the CDK app adds on top of resource_names(env) --------
# Powertools for AWS Lambda (Python) V3 public layer, pinned to the version in requirements.txt.
# Verify the number for a region with:
#   aws ssm get-parameter --name /aws/service/powertools/python/arm64/python3.12/3.37.0
POWERTOOLS_VERSION: Final = "3.37.0"
POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"
POWERTOOLS_LAYER_NAME: Final = "AWSLambdaPowertoolsPythonV3-python312-arm64"
POWERTOOLS_LAYER_VERSION: Final = 41
COST_ALLOCATION_TAG: Final = "Service"  # tag key the budget filters on (value SERVICE_NAME)


def infra_names(env: str) -> dict[str, str]:
    """Physical names of the resources only the deployed stack has (no local-runtime twin)."""
    prefix = f"{SERVICE_NAME}-{env}"
    return {
        "key_alias": f"alias/{prefix}",
        "status_api": f"{prefix}-status-api",
        "status_api_access_log_group": f"/aws/apigateway/{prefix}-status-api",
        "orders_api": f"{prefix}-orders-api",
        "orders_api_access_log_group": f"/aws/apigateway/{prefix}-orders-api",
        "orders_event_bus": prefix,
        "orders_event_rule": f"{prefix}-orders",
        "dashboard": f"{prefix}",
        "budget": f"{prefix}-monthly",
        "alarm_prefix": prefix,
        "trace_sampling_rule": f"{prefix}-workflow",  # X-Ray: at most 32 characters
        "lambda_log_group_prefix": "/aws/lambda/",
    }


def function_environment(
    function: str,
    *,
    env: str,
    ledger_table: str,
    default_currency: str,
    ses_sandbox: bool,
    sandbox_recipient: str,
    retention_days: int,
    shop_name: str,
    claim_lease_seconds: int = CLAIM_LEASE_SECONDS,
    delivered_retention_days: int = DELIVERED_RETENTION_DAYS,
    pacing_max_wait_seconds: float = PACING_MAX_WAIT_SECONDS,
) -> dict[str, str]:
    """The environment variables of one function (a `resource_names` key such as `validate_function`).

    The CDK app and the local runtime both build the functions' environments here, so the handlers
    see the same configuration in both (Powertools' own variables are added by each).
    """
    environments = {
        "validate_function": {
            ENV_ENVIRONMENT: env,
            ENV_DEFAULT_CURRENCY: default_currency,
            # The sandbox guard: outside prod every mail goes to the sandbox recipient.
            ENV_SES_SANDBOX: "true" if ses_sandbox else "false",
            ENV_SANDBOX_RECIPIENT: sandbox_recipient,
            ENV_RETENTION_DAYS: str(retention_days),
            ENV_CLAIM_LEASE_SECONDS: str(claim_lease_seconds),
            ENV_PACING_MAX_WAIT_SECONDS: str(pacing_max_wait_seconds),
        },
        "render_function": {ENV_ENVIRONMENT: env, ENV_SHOP_NAME: shop_name, ENV_DEFAULT_CURRENCY: default_currency},
        "feedback_function": {
            ENV_ENVIRONMENT: env,
            ENV_LEDGER_TABLE: ledger_table,
            ENV_RETENTION_DAYS: str(retention_days),
            ENV_DELIVERED_RETENTION_DAYS: str(min(delivered_retention_days, retention_days)),
        },
        "status_api_function": {ENV_ENVIRONMENT: env, ENV_LEDGER_TABLE: ledger_table},
    }
    return environments[function]
