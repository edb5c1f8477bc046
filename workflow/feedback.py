"""The feedback processor: SES events (via the ses-events topic) → ledger updates.

SNS invokes the function asynchronously. Two failure paths end in the same encrypted DLQ:
SNS could not invoke the function (subscription DLQ), or the function failed on all its async
retries (function DLQ). Nothing is dropped silently; `FeedbackDeadLetterQueue` alarms.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig
from workflow.encryption import EncryptionKey
from workflow.functions import TaskFunction, TaskPackage, function_limits
from workflow.ledger import Ledger


class FeedbackProcessor(Construct):
    """`function` (TaskFunction), `dead_letter_queue`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        package: TaskPackage,
        ledger: Ledger,
        events_topic: sns.ITopic,
        encryption: EncryptionKey,
    ) -> None:
        super().__init__(scope, construct_id)
        resource_names = names.resource_names(config.env)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=resource_names["feedback_dlq"],
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption.key,
            data_key_reuse=Duration.hours(24),  # the maximum: KMS requests are billed
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.function = TaskFunction(
            self,
            "Processor",
            config=config,
            package=package,
            function_name=resource_names["feedback_function"],
            handler="tasks.feedback.handler",
            description="Apply SES events to the ledger (order-independent, duplicate-safe)",
            **function_limits("feedback_function"),
            environment=config.function_environment("feedback_function", ledger_table=ledger.table.table_name),
            dead_letter_queue=self.dead_letter_queue,
            # SNS invokes it for every SES event: active tracing would start (and bill) a trace
            # per event under Lambda's fixed 1/s + 5% rule. Pass-through traces only when asked.
            tracing=lambda_.Tracing.PASS_THROUGH,
        )
        fn = self.function.function
        role = self.function.role
        # The queue is KMS-encrypted: Lambda's DLQ send needs the key as well.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterEncrypt",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[encryption.key.key_arn],
            )
        )
        # Optimistic locking: read, then a conditional update. The order is named by the mail's
        # orderId tag (or header), so no index is read.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="LedgerReadUpdate",
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[ledger.table.table_arn],
            )
        )
        events_topic.add_subscription(subs.LambdaSubscription(fn, dead_letter_queue=self.dead_letter_queue))
        encryption.allow_sns_delivery(
            sid="AllowSnsToFeedbackDeadLetter", topic_name=resource_names["ses_events_topic"]
        )
