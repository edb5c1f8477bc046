"""EventBridge Pipe: orders queue → state machine, one message per synchronous execution.

REQUEST_RESPONSE (StartSyncExecution) makes a failed execution fail the SQS message, which SQS
then redelivers and finally dead-letters; FIRE_AND_FORGET would delete it whatever happened. No
input template: the state machine takes the Pipe's JSON array of SQS records as is, exactly what
the local runtime's poller hands it.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig

BATCH_SIZE = 1  # one order per execution: one failure never drags other orders back to the queue
INVOCATION_TYPE = "REQUEST_RESPONSE"


class OrderPipe(Construct):
    """`pipe` (L1 CfnPipe) and its `role`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        queue: sqs.IQueue,
        key: kms.IKey | None,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            # Confused-deputy guard: only pipes of this account may assume it.
            assumed_by=iam.ServicePrincipal("pipes.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="orders queue -> order-email state machine",
        )
        # Hand-written instead of queue.grantConsumeMessages: that grant adds ChangeMessageVisibility
        # and the KMS grant adds more than Decrypt.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ConsumeOrders",
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                resources=[queue.queue_arn],
            )
        )
        # None: a shop's own queue (context ordersQueueArn) without ordersQueueKeyArn (SSE-SQS or none).
        if key is not None:
            self.role.add_to_policy(
                iam.PolicyStatement(sid="DecryptOrders", actions=["kms:Decrypt"], resources=[key.key_arn])
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="StartSyncExecution",
                actions=["states:StartSyncExecution"],
                resources=[state_machine.state_machine_arn],
            )
        )
        self.pipe = pipes.CfnPipe(
            self,
            "Pipe",
            name=names.resource_names(config.env)["pipe"],
            description="One order per synchronous EXPRESS execution; failures go back to SQS",
            role_arn=self.role.role_arn,
            source=queue.queue_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                sqs_queue_parameters=pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(batch_size=BATCH_SIZE)
            ),
            target=state_machine.state_machine_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                step_function_state_machine_parameters=pipes.CfnPipe.PipeTargetStateMachineParametersProperty(
                    invocation_type=INVOCATION_TYPE
                )
            ),
            desired_state="RUNNING",
        )
        # The role's policy must exist before the pipe starts polling.
        self.pipe.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
