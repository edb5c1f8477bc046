"""The delivery ledger: one DynamoDB item per order (docs/LEDGER.md is the item contract)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig


class Ledger(Construct):
    """`table`, with `status_index_arn` for least-privilege Query grants."""

    def __init__(self, scope: Construct, construct_id: str, *, config: OrderMailConfig) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=names.resource_names(config.env)["ledger_table"],
            partition_key=dynamodb.Attribute(name=names.LEDGER_PARTITION_KEY, type=string),
            # On demand: ~2,000 orders a day with bursts costs cents, and nothing to tune.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # AWS-managed key: encrypted at rest with CloudTrail-visible key use, and the state
            # machine's DynamoDB integration needs no kms permissions (a CMK would).
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=names.LEDGER_TTL_ATTRIBUTE,
            deletion_protection=config.is_prod,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        # Keys only: the index answers "which orders", the item read answers "what happened". Sparse:
        # only orders in a listed status carry its key, so the normal PROCESSING → SENT → DELIVERED path
        # writes no index entry at all (an entry costs a write unit each time it is put or deleted).
        self.table.add_global_secondary_index(
            index_name=names.LEDGER_STATUS_INDEX,
            partition_key=dynamodb.Attribute(name=names.LEDGER_LISTED_STATUS_ATTRIBUTE, type=string),
            sort_key=dynamodb.Attribute(name="updatedAt", type=string),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.status_index_arn = f"{self.table.table_arn}/index/{names.LEDGER_STATUS_INDEX}"
