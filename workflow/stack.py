"""`OrderMailStack`: composes the constructs; no resources of its own besides the outputs.

Flow (docs/ARCHITECTURE.md): orders topic → queue → Pipe → EXPRESS state machine (validate,
claim, render, send) → SES → configuration-set events → ses-events topic → feedback → ledger.
The stack is environment-agnostic: account and region are CloudFormation pseudo parameters.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig
from workflow.email import EmailSending
from workflow.encryption import EncryptionKey
from workflow.feedback import FeedbackProcessor
from workflow.functions import TaskPackage
from workflow.ingress import OrderIngress
from workflow.intake import OrdersApi, OrdersEventRule
from workflow.ledger import Ledger
from workflow.observability import Observability
from workflow.pacing import SendPacing
from workflow.pipe import OrderPipe
from workflow.state_machine import OrderWorkflow
from workflow.status_api import StatusApi
from workflow.status_events import StatusEvents


class OrderMailStack(Stack):
    """Everything ordermail runs on, for one environment (dev, test or prod)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: OrderMailConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"{names.SERVICE_NAME} ({config.env}): order-confirmation e-mail with delivery ledger",
            # Stack-level tags too (the CLI tags the CloudFormation stack with them); with the
            # explicitStackTags flag, Tags.of(self) below no longer does that.
            tags={names.COST_ALLOCATION_TAG: names.SERVICE_NAME, "Environment": config.env},
            **kwargs,
        )
        self.config = config
        # Tags reach every taggable resource; the budget filters on the first one.
        Tags.of(self).add(names.COST_ALLOCATION_TAG, names.SERVICE_NAME)
        Tags.of(self).add("Environment", config.env)

        self.encryption = EncryptionKey(self, "Encryption", config=config)
        key = self.encryption.key
        # Context ordersQueueArn: the Pipe reads the shop's queue; no topic, queue, API or rule here.
        self.ingress: OrderIngress | None = None
        self.orders_api: OrdersApi | None = None
        self.event_rule: OrdersEventRule | None = None
        if config.orders_queue_arn:
            orders_queue: sqs.IQueue = sqs.Queue.from_queue_arn(self, "ShopOrdersQueue", config.orders_queue_arn)
            queue_key: kms.IKey | None = (
                kms.Key.from_key_arn(self, "ShopOrdersQueueKey", config.orders_queue_key_arn)
                if config.orders_queue_key_arn
                else None
            )
        else:
            self.ingress = OrderIngress(self, "Ingress", config=config, encryption=self.encryption)
            orders_queue, queue_key = self.ingress.queue, key
            self.orders_api = OrdersApi(self, "OrdersApi", config=config, topic=self.ingress.topic, key=key)
            self.ingress.allow_publisher_role(self.orders_api.role)
            self.event_rule = OrdersEventRule(self, "OrderEvents", config=config, queue=self.ingress.queue, key=key)
        self.ledger = Ledger(self, "Ledger", config=config)
        self.email = EmailSending(self, "Email", config=config, encryption=self.encryption)
        self.package = TaskPackage(self, "Tasks")
        self.pacing = SendPacing(self, "Pacing", config=config)
        self.workflow = OrderWorkflow(
            self, "Workflow", config=config, package=self.package, table=self.ledger.table, email=self.email,
            pacing=self.pacing, orders_queue=orders_queue, queue_key=queue_key,
        )
        self.pipe = OrderPipe(
            self,
            "Pipe",
            config=config,
            queue=orders_queue,
            key=queue_key,
            state_machine=self.workflow.state_machine,
        )
        self.feedback = FeedbackProcessor(
            self,
            "Feedback",
            config=config,
            package=self.package,
            ledger=self.ledger,
            events_topic=self.email.events_topic,
            encryption=self.encryption,
        )
        self.status_api = StatusApi(
            self, "StatusApi", config=config, package=self.package, ledger=self.ledger
        )
        self.status_events: StatusEvents | None = None
        if config.status_events:
            bus = self.event_rule.bus if self.event_rule else None
            self.status_events = StatusEvents(
                self, "StatusEvents", config=config, package=self.package, table=self.ledger.table, shared_bus=bus
            )
        self.observability = Observability(
            self,
            "Observability",
            config=config,
            key=key,
            orders_topic=self.ingress.topic if self.ingress else None,
            orders_queue=orders_queue,
            # A shop's queue dead-letters into the shop's DLQ, which the shop watches.
            dead_letter_queues={
                **({"orders": self.ingress.dead_letter_queue} if self.ingress else {}),
                "feedback": self.feedback.dead_letter_queue,
            },
            state_machine=self.workflow.state_machine,
            functions={
                "validate": self.workflow.validate.function,
                "render": self.workflow.render.function,
                "feedback": self.feedback.function.function,
                "status-api": self.status_api.function.function,
            },
        )
        if self.orders_api is not None:
            # The account's API Gateway CloudWatch role comes with the status API.
            account = self.status_api.api.node.find_child("Account")
            self.orders_api.api.deployment_stage.node.add_dependency(account)
        self._outputs(orders_queue)

    def _outputs(self, orders_queue: sqs.IQueue) -> None:
        """The contract the CLI reads (names.STACK_OUTPUT_KEYS + INTAKE_OUTPUT_KEYS): logical ids pinned."""
        values = {
            "OrdersTopicArn": self.ingress.topic.topic_arn if self.ingress else None,
            "SesEventsTopicArn": self.email.events_topic.topic_arn,
            "LedgerTableName": self.ledger.table.table_name,
            "StateMachineArn": self.workflow.state_machine.state_machine_arn,
            "OrdersQueueUrl": orders_queue.queue_url,
            "DeadLetterQueueUrl": self.ingress.dead_letter_queue.queue_url if self.ingress else None,
            "StatusApiUrl": self.status_api.api.url,
            "DashboardUrl": self.observability.dashboard_url,
            "OrdersApiUrl": self.orders_api.url if self.orders_api else None,
            "OrdersEventBusName": self.event_rule.bus_name if self.event_rule else None,
            "StatusEventBusName": self.status_events.bus_name if self.status_events else None,
        }
        if set(values) != set(names.STACK_OUTPUT_KEYS + names.INTAKE_OUTPUT_KEYS + names.STATUS_EVENT_OUTPUT_KEYS):
            raise ValueError(f"stack outputs {sorted(values)} != names.STACK_OUTPUT_KEYS + INTAKE_OUTPUT_KEYS")
        for key, value in values.items():
            if value is None:  # the shop's queue replaces the stack's intakes (context ordersQueueArn)
                continue
            output = CfnOutput(self, key, value=value)
            output.override_logical_id(key)
