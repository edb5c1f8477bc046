"""Send pacing: the one-item table the state machine counts its sends per second in (docs/PACING.md).

The item `{bucket: "ses-send", window: <the second, ISO>, sent: n}` is the whole state: the
TakeSendSlot states open a new second's window or take one of its `sesMaxSendRate` slots with a
conditional write, so every execution, whichever Pipe poller started it, sees the same count.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig


class SendPacing(Construct):
    """`table`: the pacing counter; `sends_per_window`: the ASL's `${SendsPerWindow}`."""

    def __init__(self, scope: Construct, construct_id: str, *, config: OrderMailConfig) -> None:
        super().__init__(scope, construct_id)
        self.sends_per_window = config.ses_max_send_rate
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=names.resource_names(config.env)["pacing_table"],
            partition_key=dynamodb.Attribute(name=names.PACING_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            # On demand: one write per mail (two while a burst waits); provisioned capacity for the
            # peak would cost more each month than a year of 2,000 mails a day.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Nothing to restore from a counter of the current second, but PITR on one small item costs
            # nothing and keeps the account's every-table-has-backups rule (cdk-nag, checkov) unexcepted.
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
