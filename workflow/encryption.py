"""The customer-managed KMS key that encrypts the topics and queues.

Why a CMK and not the AWS-managed `alias/aws/sns` / `alias/aws/sqs` keys: an AWS-managed key
policy cannot be edited, so SES (publishing events to the ses-events topic), CloudWatch alarms and
AWS Budgets (publishing to the ops topic), SNS (delivering to encrypted queues) and publishers in
other accounts could not use it. One key with rotation costs $1 a month plus requests, and the
queues' one-hour data-key reuse keeps the requests few.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig

# What a service needs to publish to an encrypted topic or send to an encrypted queue.
ENVELOPE_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"]


class EncryptionKey(Construct):
    """One rotating CMK; `key` is what the other constructs encrypt with."""

    def __init__(self, scope: Construct, construct_id: str, *, config: OrderMailConfig) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=names.infra_names(config.env)["key_alias"],
            description=f"{names.SERVICE_NAME} {config.env}: SNS topics and SQS queues",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
            pending_window=Duration.days(30 if config.is_prod else 7),
        )
        # CloudWatch alarms and Budgets publish to the encrypted ops topic; SNS checks the
        # publisher's right to the key. The topic policies restrict who may publish.
        for service in ("cloudwatch.amazonaws.com", "budgets.amazonaws.com"):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{service.split('.')[0].capitalize()}ToUseKeyForSns",
                    principals=[iam.ServicePrincipal(service)],
                    actions=ENVELOPE_ACTIONS,
                    resources=["*"],
                )
            )
        # Publishers in other accounts need the key too, but only through SNS.
        if config.publisher_principals.arns:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowOrderPublishersViaSns",
                    principals=[iam.ArnPrincipal(arn) for arn in config.publisher_principals.arns],
                    actions=ENVELOPE_ACTIONS,
                    resources=["*"],
                    conditions={"StringEquals": {"kms:ViaService": f"sns.{Aws.REGION}.amazonaws.com"}},
                )
            )

    def allow_ses_events(self, *, configuration_set_name: str) -> None:
        """SES publishes configuration-set events to the encrypted ses-events topic."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSesToPublishEvents",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=ENVELOPE_ACTIONS,
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "aws:SourceArn": (
                            f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                            f":configuration-set/{configuration_set_name}"
                        ),
                    }
                },
            )
        )

    def allow_sns_delivery(self, *, sid: str, topic_name: str) -> None:
        """SNS delivers from topic `topic_name` into a queue encrypted with this key.

        The topic ARN is spelled out from its name, not referenced: the topic is encrypted with
        this key, so a reference would make the key and the topic depend on each other.
        """
        topic_arn = f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{topic_name}"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=ENVELOPE_ACTIONS,
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": topic_arn}},
            )
        )
