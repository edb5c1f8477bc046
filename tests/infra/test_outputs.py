"""Item 10: the stack outputs are exactly the CLI's contract keys."""

from __future__ import annotations

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import ledger_table_id, logical_id, only, render

DEV = names.resource_names("dev")


def test_outputs_are_exactly_the_contract_keys(dev: Synth) -> None:
    assert list(dev.json["Outputs"]) == list(names.STACK_OUTPUT_KEYS + names.INTAKE_OUTPUT_KEYS)


def test_outputs_point_at_the_right_resources(dev: Synth) -> None:
    outputs = {key: render(value["Value"]) for key, value in dev.json["Outputs"].items()}
    topic = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["orders_topic"])
    events = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["ses_events_topic"])
    queue = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_queue"])
    dlq = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_dlq"])
    api = logical_id(dev.json, "AWS::ApiGateway::RestApi", Name=names.infra_names("dev")["status_api"])
    stage = logical_id(dev.json, "AWS::ApiGateway::Stage", RestApiId={"Ref": api})
    assert outputs["OrdersTopicArn"] == f"${{{topic}}}"
    assert outputs["SesEventsTopicArn"] == f"${{{events}}}"
    assert outputs["LedgerTableName"] == f"${{{ledger_table_id(dev.json)}}}"
    assert outputs["StateMachineArn"] == f"${{{only(dev.json, 'AWS::StepFunctions::StateMachine')}}}"
    assert outputs["OrdersQueueUrl"] == f"${{{queue}}}"
    assert outputs["DeadLetterQueueUrl"] == f"${{{dlq}}}"
    assert outputs["StatusApiUrl"] == (
        f"https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{stage}}}/"
    )
    assert outputs["DashboardUrl"] == (
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        "#dashboards:name=ordermail-dev"
    )
