"""Creates every resource of the stack on moto, with boto3, from the names and ASL the CDK app uses.

moto's CloudFormation skips Pipes, SES configuration sets, SNS subscriptions and alarms, and puts
state machines where the interpreter does not see them, so the runtime provisions with plain API
calls instead. The stack outputs are then registered as a CloudFormation stack of the same name,
so `describe_stacks` (what the CLI reads) answers the same locally as on AWS.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tasks import names

from .order_events import provision_order_events

REPO_ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = REPO_ROOT / "asl" / "order_email.asl.json"
ACCOUNT_ID = "123456789012"

# The handler module of each function, as the CDK app deploys them.
HANDLERS = {
    "validate_function": "tasks.validate.handler",
    "render_function": "tasks.render.handler",
    "feedback_function": "tasks.feedback.handler",
    "status_api_function": "tasks.status_api.handler",
}


@dataclass
class Settings:
    """The deployment parameters, from the same context defaults as cdk.json."""

    env: str
    region: str = "us-east-1"
    domain: str = str(names.CONTEXT_DEFAULTS["domain"])
    from_address: str = str(names.CONTEXT_DEFAULTS["fromAddress"])
    shop_name: str = str(names.CONTEXT_DEFAULTS["shopName"])
    ses_sandbox: bool = True
    sandbox_recipient: str = str(names.CONTEXT_DEFAULTS["sandboxRecipient"])
    retention_days: int = int(names.CONTEXT_DEFAULTS["retentionDays"])  # type: ignore[call-overload]
    delivered_retention_days: int = names.DELIVERED_RETENTION_DAYS
    max_receive_count: int = int(names.CONTEXT_DEFAULTS["maxReceiveCount"])  # type: ignore[call-overload]
    default_currency: str = str(names.CONTEXT_DEFAULTS["defaultCurrency"])
    claim_lease_seconds: int = names.CLAIM_LEASE_SECONDS
    visibility_timeout_seconds: int = names.QUEUE_VISIBILITY_SECONDS
    # The ASL's ${SendsPerWindow}: sesMaxSendRate, per second of the wall clock the windows are cut
    # from ($$.State.EnteredTime); the runtime scales it with its clock (docs/PACING.md).
    sends_per_window: int = names.SES_SANDBOX_SEND_RATE
    pacing_max_wait_seconds: float = names.PACING_MAX_WAIT_SECONDS
    rate_requeue_delay_seconds: int = names.PACING_REQUEUE_DELAY_SECONDS  # SQS delays: scaled too
    quota_requeue_delay_seconds: int = names.QUOTA_REQUEUE_DELAY_SECONDS
    users_table: Any = None  # workflow.context.UsersTable: customer lookup by id (users_table.py)


@dataclass
class Provisioned:
    names: dict[str, str]
    outputs: dict[str, str]
    orders_queue_url: str
    orders_queue_arn: str
    dlq_url: str
    ses_events_topic_arn: str
    state_machine_arn: str
    function_env: dict[str, dict[str, str]] = field(default_factory=dict)


def render_definition(substitutions: dict[str, str], users_table: Any = None) -> str:
    """The ASL with its `${Placeholders}` filled, exactly as `definition_substitutions` does in CDK."""
    from workflow.lookup import with_customer_lookup

    text = with_customer_lookup(ASL_PATH.read_text(encoding="utf-8"), users_table)
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        start = text.index("${")
        raise ValueError(f"unfilled placeholder in {ASL_PATH.name}: {text[start:start + 40]}")
    return text


def function_environments(settings: Settings, ledger_table: str) -> dict[str, dict[str, str]]:
    common = {
        names.ENV_POWERTOOLS_SERVICE: names.SERVICE_NAME,
        names.ENV_POWERTOOLS_NAMESPACE: names.METRICS_NAMESPACE,
        names.ENV_LOG_LEVEL: names.FUNCTION_LOG_LEVEL,
    }
    return {
        key: {
            **common,
            **names.function_environment(
                key,
                env=settings.env,
                ledger_table=ledger_table,
                default_currency=settings.default_currency,
                ses_sandbox=settings.ses_sandbox,
                sandbox_recipient=settings.sandbox_recipient,
                retention_days=settings.retention_days,
                delivered_retention_days=settings.delivered_retention_days,
                shop_name=settings.shop_name,
                claim_lease_seconds=settings.claim_lease_seconds,
                pacing_max_wait_seconds=settings.pacing_max_wait_seconds,
            ),
        }
        for key in HANDLERS
    }


def _placeholder_zip() -> bytes:
    # moto wants a code package; the handlers run in-process from this checkout (seams/lambda_.py).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "ordermail handlers run in-process from the tasks/ package.")
    return buffer.getvalue()


def _role(iam: Any, name: str, service: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def provision(settings: Settings, *, endpoint_url: str | None = None) -> Provisioned:
    region = settings.region
    resource = names.resource_names(settings.env)

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)

    iam, sns, sqs, ddb = client("iam"), client("sns"), client("sqs"), client("dynamodb")
    lam, sfn, ses = client("lambda"), client("stepfunctions"), client("sesv2")

    # Ledger: key, TTL and indexes as docs/LEDGER.md and the CDK ledger construct define them.
    ddb.create_table(**ledger_table_request(resource["ledger_table"]))
    ddb.update_time_to_live(
        TableName=resource["ledger_table"],
        TimeToLiveSpecification={"Enabled": True, "AttributeName": names.LEDGER_TTL_ATTRIBUTE},
    )

    ddb.create_table(**pacing_table_request(resource["pacing_table"]))

    # Topics, queue, DLQ and the raw-delivery subscription with its filter policy.
    orders_topic = sns.create_topic(Name=resource["orders_topic"])["TopicArn"]
    ses_events_topic = sns.create_topic(Name=resource["ses_events_topic"])["TopicArn"]
    sns.create_topic(Name=resource["ops_topic"])
    dlq_url = sqs.create_queue(QueueName=resource["orders_dlq"])["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=resource["orders_queue"],
        Attributes={
            "VisibilityTimeout": str(settings.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=resource["feedback_dlq"])
    sns.subscribe(
        TopicArn=orders_topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({names.ORDER_EVENT_TYPE_ATTRIBUTE: [names.ORDER_EVENT_TYPE]}),
        },
    )

    orders_event_bus = provision_order_events(client("events"), env=settings.env, queue_arn=queue_arn)

    # Lambda functions (run in-process by seams/lambda_.py).
    lambda_role = _role(iam, f"{names.SERVICE_NAME}-{settings.env}-lambda", "lambda.amazonaws.com")
    environments = function_environments(settings, resource["ledger_table"])
    function_arns: dict[str, str] = {}
    for key, handler in HANDLERS.items():
        function_arns[key] = lam.create_function(
            FunctionName=resource[key],
            Runtime="python3.12",
            Architectures=["arm64"],
            Role=lambda_role,
            Handler=handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=names.FUNCTION_LIMITS[key][0],  # as the CDK app sets them
            MemorySize=names.FUNCTION_LIMITS[key][1],
            Environment={"Variables": environments[key]},
        )["FunctionArn"]
    sns.subscribe(TopicArn=ses_events_topic, Protocol="lambda", Endpoint=function_arns["feedback_function"])

    # SES: the domain identity and the configuration set (its event destination is the runtime's
    # EventPublisher, which publishes to ses_events_topic).
    ses.create_email_identity(EmailIdentity=settings.domain)
    ses.create_configuration_set(ConfigurationSetName=resource["configuration_set"])

    # The state machine, from the same ASL file and placeholders as the CDK app.
    sfn_role = _role(iam, f"{names.SERVICE_NAME}-{settings.env}-state-machine", "states.amazonaws.com")
    definition = render_definition(
        {
            "ValidateFunctionArn": function_arns["validate_function"],
            "RenderFunctionArn": function_arns["render_function"],
            "LedgerTableName": resource["ledger_table"],
            "FromAddress": settings.from_address,
            "ConfigurationSetName": resource["configuration_set"],
            "PacingTableName": resource["pacing_table"],
            "SendsPerWindow": str(settings.sends_per_window),
            "OrdersQueueUrl": queue_url,
            "RateRequeueDelaySeconds": str(settings.rate_requeue_delay_seconds),
            "QuotaRequeueDelaySeconds": str(settings.quota_requeue_delay_seconds),
        },
        settings.users_table,
    )
    state_machine_arn = sfn.create_state_machine(
        name=resource["state_machine"], definition=definition, roleArn=sfn_role, type="EXPRESS"
    )["stateMachineArn"]

    outputs = {
        "OrdersTopicArn": orders_topic,
        "SesEventsTopicArn": ses_events_topic,
        "LedgerTableName": resource["ledger_table"],
        "StateMachineArn": state_machine_arn,
        "OrdersQueueUrl": queue_url,
        "DeadLetterQueueUrl": dlq_url,
        "StatusApiUrl": "",  # filled by the runtime when its status API listens
        "DashboardUrl": "(no dashboard in the local runtime: use `ordermail status` and `ordermail history`)",
        "OrdersApiUrl": "",  # filled by the runtime when its orders API listens
        "OrdersEventBusName": orders_event_bus,
    }
    return Provisioned(
        names=resource,
        outputs=outputs,
        orders_queue_url=queue_url,
        orders_queue_arn=queue_arn,
        dlq_url=dlq_url,
        ses_events_topic_arn=ses_events_topic,
        state_machine_arn=state_machine_arn,
        function_env=environments,
    )


def register_outputs_stack(env: str, outputs: dict[str, str], *, region: str, endpoint_url: str | None = None) -> None:
    """A CloudFormation stack whose Outputs are the stack outputs: the CLI reads them as on AWS."""
    cfn = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    template = {
        "Description": "ordermail local runtime: outputs of the embedded stack",
        "Resources": {"LocalRuntimeMarker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value or "-"} for key, value in outputs.items()},
    }
    name = names.stack_name(env)
    with contextlib.suppress(Exception):  # nothing to replace on first registration
        cfn.delete_stack(StackName=name)
    with warnings.catch_warnings():  # moto warns that it does not model the marker resource: expected
        warnings.simplefilter("ignore", UserWarning)
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))


def pacing_table_request(table_name: str) -> dict[str, Any]:
    """CreateTable for the send-pacing table as workflow/pacing.py declares it."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": names.PACING_PARTITION_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": names.PACING_PARTITION_KEY, "KeyType": "HASH"}],
    }


def ledger_table_request(table_name: str) -> dict[str, Any]:
    """CreateTable for the ledger as workflow/ledger.py declares it (the runtime and the tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": names.LEDGER_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": names.LEDGER_LISTED_STATUS_ATTRIBUTE, "AttributeType": "S"},
            {"AttributeName": "updatedAt", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": names.LEDGER_PARTITION_KEY, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": names.LEDGER_STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": names.LEDGER_LISTED_STATUS_ATTRIBUTE, "KeyType": "HASH"},
                    {"AttributeName": "updatedAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        "SSESpecification": {"Enabled": True},
    }
