"""Outcomes out (issue 11): opt-in ledger stream → filtered Pipe → enrichment function → event bus,
with least-privilege roles; the default stack has none of it (its cost per mail is unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks import names
from tests.infra.conftest import Synth, synthesize
from tests.infra.helpers import allowed, function_id, logical_id, resources, role_of_function
from workflow import status_events_spec as spec

DEV = names.resource_names("dev")
BUS_ARN = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/"


@pytest.fixture(scope="module")
def on(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize({"statusEvents": "true"}, tmp_path_factory.mktemp("status-events"))


def _status_pipe(synth: Synth) -> dict:
    (pipe,) = [p["Properties"] for p in resources(synth.json, "AWS::Pipes::Pipe").values()
               if p["Properties"]["Name"] != DEV["pipe"]]
    return pipe


def test_the_default_stack_has_no_stream_no_status_pipe_and_no_output(dev: Synth) -> None:
    table_id = logical_id(dev.json, "AWS::DynamoDB::Table", TableName=DEV["ledger_table"])
    assert "StreamSpecification" not in dev.json["Resources"][table_id]["Properties"]
    assert [p["Properties"]["Name"] for p in resources(dev.json, "AWS::Pipes::Pipe").values()] == [DEV["pipe"]]
    assert spec.function_name("dev") not in json.dumps(dev.json)
    assert "StatusEventBusName" not in dev.json["Outputs"]


def test_the_ledger_streams_both_images_through_the_filter_and_function_to_the_bus(on: Synth) -> None:
    table_id = logical_id(on.json, "AWS::DynamoDB::Table", TableName=DEV["ledger_table"])
    assert on.json["Resources"][table_id]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"}
    (bus_id,) = resources(on.json, "AWS::Events::EventBus")  # the intake's bus, shared
    assert on.json["Resources"][bus_id]["Properties"]["Name"] == "ordermail-dev"
    pipe = _status_pipe(on)
    assert pipe["Name"] == spec.pipe_name("dev")
    assert pipe["Source"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert pipe["Target"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert pipe["Enrichment"] == {"Fn::GetAtt": [function_id(on.json, spec.function_name("dev")), "Arn"]}
    source = pipe["SourceParameters"]
    assert source["DynamoDBStreamParameters"] == {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 10, "MaximumRetryAttempts": -1}  # none dropped
    assert source["FilterCriteria"] == {"Filters": [{"Pattern": spec.filter_pattern()}]}
    assert len(spec.filter_pattern()) <= 4096  # the Pipes limit on a pattern
    assert pipe["TargetParameters"] == {"EventBridgeEventBusParameters": {
        "DetailType": "OrderEmailStatusChanged", "Source": "ordermail"}}
    assert on.json["Outputs"]["StatusEventBusName"]["Value"] == {"Ref": bus_id}
    function = on.json["Resources"][function_id(on.json, spec.function_name("dev"))]["Properties"]
    assert function["Handler"] == "tasks.status_events.handler"
    assert (function["Timeout"], function["MemorySize"]) == spec.ENRICHMENT_LIMITS


def test_the_pipe_role_reads_the_stream_invokes_the_function_and_puts_to_the_bus_only(on: Synth) -> None:
    pipe = _status_pipe(on)
    role_id = pipe["RoleArn"]["Fn::GetAtt"][0]
    table_id = logical_id(on.json, "AWS::DynamoDB::Table", TableName=DEV["ledger_table"])
    (bus_id,) = resources(on.json, "AWS::Events::EventBus")
    fn_id = function_id(on.json, spec.function_name("dev"))
    stream = f"${{{table_id}.StreamArn}}"
    assert allowed(on.json, role_id) == {
        "dynamodb:DescribeStream": {stream},
        "dynamodb:GetRecords": {stream},
        "dynamodb:GetShardIterator": {stream},
        "dynamodb:ListStreams": {"*"},
        "lambda:InvokeFunction": {f"${{{fn_id}.Arn}}"},
        "events:PutEvents": {f"${{{bus_id}.Arn}}"},
    }
    trust = on.json["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "pipes.amazonaws.com"}
    assert "aws:SourceAccount" in json.dumps(trust["Condition"])


def test_the_enrichment_function_may_only_write_its_own_logs(on: Synth) -> None:
    grants = allowed(on.json, role_of_function(on.json, function_id(on.json, spec.function_name("dev"))))
    # X-Ray's two writes come with every function (CDK grants them even for PassThrough).
    assert set(grants) <= {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                           "xray:PutTelemetryRecords"}
    assert not any(a.startswith(("dynamodb:", "events:", "ses:", "sqs:")) for a in grants)


def test_context_names_an_existing_bus_instead(tmp_path: Path) -> None:
    synth = synthesize({"statusEventBusName": "shop-events"}, tmp_path)
    assert synth.json["Outputs"]["StatusEventBusName"]["Value"] == "shop-events"
    role_id = _status_pipe(synth)["RoleArn"]["Fn::GetAtt"][0]
    assert allowed(synth.json, role_id)["events:PutEvents"] == {BUS_ARN + "shop-events"}
    assert _status_pipe(synth)["Target"]["Fn::Join"][1][-1] == ":event-bus/shop-events"


def test_a_bad_bus_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="statusEventBusName"):
        synthesize({"statusEventBusName": "default"}, tmp_path)


def test_the_context_switch_parses_strictly() -> None:
    from workflow.context import ContextError, load_config_from_mapping

    assert load_config_from_mapping({}).status_events is False  # off unless asked for
    assert load_config_from_mapping({"statusEvents": "false"}).status_events is False
    assert load_config_from_mapping({"statusEvents": "true"}).status_events is True
    named = load_config_from_mapping({"statusEventBusName": "shop-events"})
    assert (named.status_events, named.status_event_bus_name) == (True, "shop-events")
    with pytest.raises(ContextError, match="statusEvents"):
        load_config_from_mapping({"statusEvents": "maybe"})


def test_with_the_shops_queue_and_no_intake_bus_the_stack_creates_its_own(tmp_path: Path) -> None:
    synth = synthesize({"statusEvents": "true", "ordersQueueArn": "arn:aws:sqs:us-east-1:111111111111:shop"}, tmp_path)
    (bus_id,) = resources(synth.json, "AWS::Events::EventBus")
    assert synth.json["Resources"][bus_id]["Properties"]["Name"] == "ordermail-dev"
    assert _status_pipe(synth)["Target"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert "OrdersEventBusName" not in synth.json["Outputs"]
    assert synth.json["Outputs"]["StatusEventBusName"]["Value"] == {"Ref": bus_id}
