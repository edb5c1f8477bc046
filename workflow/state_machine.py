"""The EXPRESS state machine from `asl/order_email.asl.json`, and the two Lambda tasks it calls.

The definition is inlined with `DefinitionBody.from_string` (from_file would upload an S3 asset and
leave nothing in the template to assert on); its `${Placeholders}` are filled by
`definition_substitutions`, the same names the local runtime fills. Its role is written by hand:
the definition is opaque to CDK, so nothing is granted implicitly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_xray as xray
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig
from workflow.email import EmailSending
from workflow.functions import TaskFunction, TaskPackage, function_limits, log_group
from workflow.lookup import grant_customer_lookup, with_customer_lookup
from workflow.nag import XRAY_REASON, acknowledge
from workflow.pacing import SendPacing

ASL_PATH: Final = Path(__file__).resolve().parent.parent / "asl" / "order_email.asl.json"
PLACEHOLDER_RE: Final = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def asl_placeholders(text: str) -> set[str]:
    """The `${Name}` placeholders a definition uses."""
    return set(PLACEHOLDER_RE.findall(text))


class OrderWorkflow(Construct):
    """`state_machine`, `validate` and `render` (TaskFunction), `log_group` of the executions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        package: TaskPackage,
        table: dynamodb.ITable,
        email: EmailSending,
        pacing: SendPacing,
        orders_queue: sqs.IQueue,
        queue_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        resource_names = names.resource_names(config.env)

        self.validate = TaskFunction(
            self,
            "Validate",
            config=config,
            package=package,
            function_name=resource_names["validate_function"],
            handler="tasks.validate.handler",
            description="Parse the SQS record, validate the order, compute hash, lease and tags",
            **function_limits("validate_function"),
            environment=config.function_environment("validate_function", ledger_table=table.table_name),
        )
        self.render = TaskFunction(
            self,
            "Render",
            config=config,
            package=package,
            function_name=resource_names["render_function"],
            handler="tasks.render.handler",
            description="Render subject, HTML and text of the confirmation mail",
            **function_limits("render_function"),
            environment=config.function_environment("render_function", ledger_table=table.table_name),
        )

        self.log_group = log_group(
            self, "ExecutionLogs", config=config, name=resource_names["execution_log_group"]
        )
        definition = with_customer_lookup(ASL_PATH.read_text(encoding="utf-8"), config.users_table)
        substitutions = {
            "ValidateFunctionArn": self.validate.function.function_arn,
            "RenderFunctionArn": self.render.function.function_arn,
            "LedgerTableName": table.table_name,
            "FromAddress": config.from_address,
            "ConfigurationSetName": email.configuration_set.configuration_set_name,
            "PacingTableName": pacing.table.table_name,
            "SendsPerWindow": str(pacing.sends_per_window),
            "OrdersQueueUrl": orders_queue.queue_url,
            "RateRequeueDelaySeconds": str(names.PACING_REQUEUE_DELAY_SECONDS),
            "QuotaRequeueDelaySeconds": str(names.QUOTA_REQUEUE_DELAY_SECONDS),
        }
        missing = asl_placeholders(definition) - substitutions.keys()
        if missing:
            raise ValueError(f"{ASL_PATH.name}: no substitution for {sorted(missing)}")

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=resource_names["state_machine"],
            # CDK defaults to STANDARD; Pipes' REQUEST_RESPONSE (StartSyncExecution) needs EXPRESS.
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions=substitutions,
            # Express has no execution history API: the console reads these logs. ALL with
            # execution data costs log ingestion per order; the ledger keeps per-order history anyway.
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel[config.execution_log_level],
                include_execution_data=True,
            ),
            tracing_enabled=True,
        )
        self.trace_sampling_rule = self._trace_sampling(config)
        self._grant(table=table, email=email, from_address=config.from_address)
        self._grant_pacing(pacing=pacing, orders_queue=orders_queue, queue_key=queue_key)
        if config.users_table is not None:
            grant_customer_lookup(self.state_machine, self, config.users_table)

        role = self.state_machine.role
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs vended-log delivery (logs:CreateLogDelivery, GetLogDelivery, "
            "UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, "
            "DescribeResourcePolicies, DescribeLogGroups) supports only '*' as resource, as Step "
            "Functions logging requires; and " + XRAY_REASON,
        )
        if config.execution_log_level != "ALL":
            acknowledge(
                self.state_machine,
                "AwsSolutions-SF1",
                f"executionLogLevel={config.execution_log_level} by choice: level ALL with execution "
                "data ingests every order's state transitions into CloudWatch Logs (paid per GB); "
                "the ledger already records every attempt, its outcome and error per order. "
                "Switch with -c executionLogLevel=ALL while debugging.",
            )

    def _trace_sampling(self, config: OrderMailConfig) -> xray.CfnSamplingRule:
        """Executions X-Ray records: `traceSampleRate` of them, no reservoir.

        X-Ray's default rule records the first request each second and 5% of the rest, which at
        ~2,000 orders a day is nearly every execution: a trace per order costs as much as the ledger.
        Validate and Render follow the execution's sampling decision (one trace per order).
        """
        return xray.CfnSamplingRule(
            self,
            "TraceSampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=names.infra_names(config.env)["trace_sampling_rule"],
                priority=100,
                fixed_rate=config.trace_sample_rate,
                reservoir_size=0,
                service_name=names.resource_names(config.env)["state_machine"],
                service_type="AWS::StepFunctions::StateMachine",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )

    def _grant_pacing(self, *, pacing: SendPacing, orders_queue: sqs.IQueue, queue_key: kms.IKey | None) -> None:
        """TakeSendSlot's conditional writes, and Requeue's send to the orders queue (with the data
        key SQS encrypts the message under: GenerateDataKey, and Decrypt to verify it)."""
        sm = self.state_machine
        sm.add_to_role_policy(
            iam.PolicyStatement(sid="PacingSlots", actions=["dynamodb:UpdateItem"], resources=[pacing.table.table_arn])
        )
        sm.add_to_role_policy(
            iam.PolicyStatement(sid="RequeueOrders", actions=["sqs:SendMessage"], resources=[orders_queue.queue_arn])
        )
        if queue_key is not None:
            sm.add_to_role_policy(
                iam.PolicyStatement(
                    sid="RequeueOrdersKey",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[queue_key.key_arn],
                )
            )

    def _grant(self, *, table: dynamodb.ITable, email: EmailSending, from_address: str) -> None:
        """Exactly what the definition's tasks call, on exactly the resources they name."""
        sm = self.state_machine
        sm.add_to_role_policy(
            iam.PolicyStatement(
                sid="LedgerWrites",
                # Every ledger write in the ASL is a conditional updateItem (a putItem would erase
                # the order's timeline when a FAILED order is re-claimed).
                actions=["dynamodb:UpdateItem"],
                resources=[table.table_arn],
            )
        )
        sm.add_to_role_policy(
            iam.PolicyStatement(
                sid="InvokeTasks",
                actions=["lambda:InvokeFunction"],
                resources=[self.validate.function.function_arn, self.render.function.function_arn],
            )
        )
        # Written by hand: grantSendEmail covers the identity only, but sending through a
        # configuration set is authorized on the configuration set too.
        sm.add_to_role_policy(
            iam.PolicyStatement(
                sid="SendFromConfiguredAddress",
                actions=["ses:SendEmail"],
                resources=[email.identity_arn, email.configuration_set_arn],
                conditions={"StringEquals": {"ses:FromAddress": from_address}},
            )
        )
