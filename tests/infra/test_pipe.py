"""Item 3: the Pipe — queue → EXPRESS state machine, batch 1, REQUEST_RESPONSE, no input template."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import allowed, logical_id, only

DEV = names.resource_names("dev")


def test_pipe_runs_one_message_per_synchronous_execution(dev: Synth) -> None:
    queue_id = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_queue"])
    sm_id = only(dev.json, "AWS::StepFunctions::StateMachine")
    target_parameters = Capture()
    dev.template.has_resource_properties(
        "AWS::Pipes::Pipe",
        {
            "Name": DEV["pipe"],
            "DesiredState": "RUNNING",
            "Source": {"Fn::GetAtt": [queue_id, "Arn"]},
            "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
            "Target": {"Ref": sm_id},
            "TargetParameters": target_parameters,
        },
    )
    # No InputTemplate: the state machine gets the Pipe's array of SQS records untouched.
    assert target_parameters.as_object() == {
        "StepFunctionStateMachineParameters": {"InvocationType": "REQUEST_RESPONSE"}
    }


def test_pipe_role_may_only_consume_the_queue_and_start_the_machine(dev: Synth) -> None:
    pipe = dev.json["Resources"][only(dev.json, "AWS::Pipes::Pipe")]
    role_id = pipe["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    queue_id = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_queue"])
    key_id = only(dev.json, "AWS::KMS::Key")
    sm_id = only(dev.json, "AWS::StepFunctions::StateMachine")
    assert allowed(dev.json, role_id) == {
        "sqs:ReceiveMessage": {f"${{{queue_id}.Arn}}"},
        "sqs:DeleteMessage": {f"${{{queue_id}.Arn}}"},
        "sqs:GetQueueAttributes": {f"${{{queue_id}.Arn}}"},
        "kms:Decrypt": {f"${{{key_id}.Arn}}"},
        "states:StartSyncExecution": {f"${{{sm_id}}}"},
    }
    dev.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "pipes.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    )
                ]
            }
        },
    )
    dev.template.resource_count_is("AWS::Pipes::Pipe", 1)
    assert "ManagedPolicyArns" not in dev.json["Resources"][role_id]["Properties"]
