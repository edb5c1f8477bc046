"""Outcomes out: every ledger status change becomes one `OrderEmailStatusChanged` event on a bus.

Opt-in (context `statusEvents` or `statusEventBusName`): the default stack has no stream, Pipe or
function, so its cost per mail does not change. Ledger stream (NEW_AND_OLD_IMAGES) → one Pipe
with a filter (workflow/status_events_spec.py) → enrichment function (tasks/status_events.py:
batch of records in, event details out, no AWS call) → event bus. Why the stream and not the
writers, and the cost: docs/EVENTS.md.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_pipes as pipes
from constructs import Construct

from workflow import status_events_spec as spec
from workflow.context import OrderMailConfig
from workflow.functions import TaskFunction, TaskPackage
from workflow.nag import acknowledge


class StatusEvents(Construct):
    """`bus_name`, `bus_arn`, the `pipe`, its `role`, and the enrichment `function` (a TaskFunction)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        package: TaskPackage,
        table: dynamodb.Table,
        shared_bus: events.IEventBus | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        existing = config.status_event_bus_name  # validated in workflow/context.py
        self.bus: events.IEventBus | None
        if existing:
            self.bus_name, self.bus = existing, None
        elif shared_bus is not None:  # the EventBridge intake's bus (ordermail-<env> or ordersEventBusName)
            self.bus_name, self.bus = shared_bus.event_bus_name, shared_bus
        else:  # ordersQueueArn: no intake bus, so one of its own
            self.bus = events.EventBus(self, "Bus", event_bus_name=spec.bus_name(config.env))
            self.bus_name = self.bus.event_bus_name
        self.bus_arn = (
            self.bus.event_bus_arn
            if self.bus is not None
            else Stack.of(self).format_arn(service="events", resource="event-bus", resource_name=self.bus_name)
        )

        # The stream is switched on here, on the L1, so the ledger construct stays as it is.
        cfn_table = table.node.default_child
        assert isinstance(cfn_table, dynamodb.CfnTable)
        cfn_table.stream_specification = dynamodb.CfnTable.StreamSpecificationProperty(
            stream_view_type="NEW_AND_OLD_IMAGES"
        )
        stream_arn = cfn_table.attr_stream_arn

        timeout, memory = spec.ENRICHMENT_LIMITS
        self.function = TaskFunction(
            self,
            "Enrich",
            config=config,
            package=package,
            function_name=spec.function_name(config.env),
            handler=spec.ENRICHMENT_HANDLER,
            description="ledger stream records -> OrderEmailStatusChanged details (no AWS calls, no PII)",
            environment={},
            timeout=Duration.seconds(timeout),
            memory_size=memory,
            tracing=lambda_.Tracing.PASS_THROUGH,
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("pipes.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="ledger stream -> status events enrichment -> bus",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadLedgerStream",
                actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                resources=[stream_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="ListLedgerStreams", actions=["dynamodb:ListStreams"], resources=["*"])
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams has no resource-level permissions; Pipes' DynamoDB source needs it.",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="Enrich", actions=["lambda:InvokeFunction"], resources=[self.function.function.function_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="PutStatusEvents", actions=["events:PutEvents"], resources=[self.bus_arn])
        )
        self.pipe = pipes.CfnPipe(
            self,
            "Pipe",
            name=spec.pipe_name(config.env),
            description=f"ledger status changes -> {spec.DETAIL_TYPE} events",
            role_arn=self.role.role_arn,
            source=stream_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    # TRIM_HORIZON: a pipe (re)created after writes still sees the last 24 h.
                    starting_position="TRIM_HORIZON",
                    batch_size=spec.BATCH_SIZE,
                    # -1: retry a failed batch until its records expire (24 h), never drop one.
                    maximum_retry_attempts=-1,
                ),
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern=spec.filter_pattern())]
                ),
            ),
            enrichment=self.function.function.function_arn,
            target=self.bus_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                event_bridge_event_bus_parameters=pipes.CfnPipe.PipeTargetEventBridgeEventBusParametersProperty(
                    detail_type=spec.DETAIL_TYPE, source=spec.SOURCE
                ),
            ),
            desired_state="RUNNING",
        )
        self.pipe.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        if self.bus is not None:
            self.pipe.node.add_dependency(self.bus)
