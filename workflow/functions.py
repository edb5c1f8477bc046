"""Lambda building blocks shared by the four functions (validate, render, feedback, status API).

Every function: Python 3.12 on arm64 (Graviton, ~20% cheaper per GB-s), the official Powertools V3
layer, its own log group with retention, X-Ray tracing (active unless said otherwise), Powertools environment, and its own
role that starts with nothing but write access to that log group (no AWS managed policies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tasks import names
from workflow.bundling import tasks_code
from workflow.context import OrderMailConfig
from workflow.nag import PY312_REASON, XRAY_REASON, acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64

_RETENTION: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def log_retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a validated `logRetentionDays` value."""
    return _RETENTION[days]


def log_group(scope: Construct, construct_id: str, *, config: OrderMailConfig, name: str) -> logs.LogGroup:
    """A named log group with the configured retention; kept in prod, removed with the stack elsewhere."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=log_retention(config.log_retention_days),
        removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
    )


def powertools_layer_arn() -> str:
    """The public Powertools layer in the deployment region (a token: the stack is env-agnostic)."""
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{names.POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{names.POWERTOOLS_LAYER_NAME}:{names.POWERTOOLS_LAYER_VERSION}"
    )


class TaskPackage(Construct):
    """What all functions share: the `tasks/` code asset and the Powertools layer."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.code = tasks_code()
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", powertools_layer_arn()
        )


def function_limits(function: str) -> dict[str, Any]:
    """`timeout` and `memory_size` for a TaskFunction, from tasks/names.py (the local runtime reads them too)."""
    timeout_seconds, memory_mb = names.FUNCTION_LIMITS[function]
    return {"timeout": Duration.seconds(timeout_seconds), "memory_size": memory_mb}


class TaskFunction(Construct):
    """One handler of `tasks/` as a Lambda function; exposes `function`, `role`, `log_group`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        package: TaskPackage,
        function_name: str,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        timeout: Duration,
        memory_size: int,
        dead_letter_queue: sqs.IQueue | None = None,
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "LogGroup", config=config, name=f"/aws/lambda/{function_name}")
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name}: its own log group, X-Ray, and what its construct grants",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=package.code,
            layers=[package.powertools_layer],
            role=self.role,
            log_group=self.log_group,
            tracing=tracing,
            timeout=timeout,
            memory_size=memory_size,
            # Async invocations that fail all retries land here (grants sqs:SendMessage only).
            dead_letter_queue=dead_letter_queue,
            environment={
                names.ENV_POWERTOOLS_SERVICE: names.SERVICE_NAME,
                names.ENV_POWERTOOLS_NAMESPACE: names.METRICS_NAMESPACE,
                names.ENV_LOG_LEVEL: config.function_log_level,
                **environment,
            },
        )
        # The role's default policy only exists once something is granted; X-Ray always is.
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        acknowledge(self.function, "AwsSolutions-L1", PY312_REASON)
