"""Order intake: the orders topic, the buffer queue and its dead-letter queue.

SNS cannot start a state machine; the queue absorbs bursts, and the Pipe (workflow/pipe.py) feeds
it to the workflow one message at a time. A message whose execution fails is received again after
the visibility timeout, and after `maxReceiveCount` receives it lands in the DLQ.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig
from workflow.encryption import EncryptionKey

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time for an operator to redrive


class OrderIngress(Construct):
    """`topic` → (raw delivery, filter on eventType) → `queue` → after N receives → `dead_letter_queue`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: OrderMailConfig, encryption: EncryptionKey
    ) -> None:
        super().__init__(scope, construct_id)
        key = encryption.key
        resource_names = names.resource_names(config.env)

        self.topic = sns.Topic(
            self,
            "OrdersTopic",
            topic_name=resource_names["orders_topic"],
            display_name=f"{names.SERVICE_NAME} {config.env} orders",
            master_key=key,
            enforce_ssl=True,
        )
        self._restrict_publishers(config)

        self.dead_letter_queue = sqs.Queue(
            self,
            "OrdersDeadLetterQueue",
            queue_name=resource_names["orders_dlq"],
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(24),  # the maximum: KMS requests are billed
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "OrdersQueue",
            queue_name=resource_names["orders_queue"],
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(24),  # the maximum: KMS requests are billed
            enforce_ssl=True,
            # Longer than an execution can live, so a message in flight is never handed out twice.
            visibility_timeout=Duration.seconds(names.QUEUE_VISIBILITY_SECONDS),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=config.max_receive_count
            ),
        )
        # Raw delivery: the queue body is the order JSON itself, as the state machine expects.
        # Built from L2 parts instead of SqsSubscription: that one writes the topic's ARN into the
        # key policy, a cycle (the topic is encrypted with the same key).
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowOrdersTopic",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.topic.topic_arn}},
            )
        )
        self.subscription = sns.Subscription(
            self,
            "OrdersSubscription",
            topic=self.topic,
            protocol=sns.SubscriptionProtocol.SQS,
            endpoint=self.queue.queue_arn,
            raw_message_delivery=True,
            filter_policy={
                names.ORDER_EVENT_TYPE_ATTRIBUTE: sns.SubscriptionFilter.string_filter(
                    allowlist=[names.ORDER_EVENT_TYPE]
                )
            },
        )
        # SNS checks its right to send (queue policy) when the subscription is created.
        self.subscription.node.add_dependency(self.queue.node.find_child("Policy"))
        encryption.allow_sns_delivery(sid="AllowSnsToOrdersQueue", topic_name=resource_names["orders_topic"])

    def _restrict_publishers(self, config: OrderMailConfig) -> None:
        """Allow the configured publishers; deny sns:Publish to everyone else (even in this account)."""
        publishers = config.publisher_principals
        allowed: list[iam.IPrincipal] = (
            [iam.AccountRootPrincipal()]
            if publishers.is_default
            else [iam.ArnPrincipal(arn) for arn in publishers.arns]
        )
        self._allow_publishers = iam.PolicyStatement(
            sid="AllowConfiguredPublishers",
            principals=allowed,
            actions=["sns:Publish"],
            resources=[self.topic.topic_arn],
        )
        self.topic.add_to_resource_policy(self._allow_publishers)
        # Conditions are ANDed: deny only a caller that matches neither an allowed role/user ARN
        # nor an allowed account.
        conditions: dict[str, dict[str, object]] = {}
        if publishers.role_or_user_arns:
            conditions["ArnNotLike"] = {"aws:PrincipalArn": list(publishers.role_or_user_arns)}
        accounts = list(publishers.account_ids) if not publishers.is_default else [Aws.ACCOUNT_ID]
        if accounts:
            conditions["StringNotEquals"] = {"aws:PrincipalAccount": accounts}
        self._publisher_arns = list(publishers.role_or_user_arns)
        self._deny_others = iam.PolicyStatement(
            sid="DenyOtherPublishers",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["sns:Publish"],
            resources=[self.topic.topic_arn],
            conditions=conditions,
        )
        self.topic.add_to_resource_policy(self._deny_others)
        self._default_publishers = publishers.is_default

    def allow_publisher_role(self, role: iam.IRole) -> None:
        """A role of this stack (the HTTP intake's) publishes too, whoever else is configured."""
        if self._default_publishers:
            return  # any principal of this account may already publish
        self._allow_publishers.add_principals(iam.ArnPrincipal(role.role_arn))
        self._publisher_arns.append(role.role_arn)
        self._deny_others.add_condition("ArnNotLike", {"aws:PrincipalArn": list(self._publisher_arns)})
