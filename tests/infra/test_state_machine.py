"""Item 4: the EXPRESS state machine — inline ASL, substitutions, logging, tracing, its role; the ASL itself."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Match
from moto import mock_aws

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import (
    ACCOUNT,
    REGION,
    allowed,
    conditions_for,
    function_id,
    only,
    resolved_definition,
    table_id,
)
from workflow.context import ContextError, load_config_from_mapping
from workflow.state_machine import ASL_PATH, asl_placeholders

DEV = names.resource_names("dev")
ASL_TEXT = ASL_PATH.read_text()
ASL = json.loads(ASL_TEXT)


def _sm(synth: Synth) -> dict[str, Any]:
    props: dict[str, Any] = synth.json["Resources"][only(synth.json, "AWS::StepFunctions::StateMachine")][
        "Properties"
    ]
    return props


def test_state_machine_is_express_with_the_inline_definition(dev: Synth) -> None:
    sm = _sm(dev)
    assert sm["StateMachineType"] == "EXPRESS"
    assert sm["StateMachineName"] == DEV["state_machine"]
    # Inline (DefinitionString), not an S3 asset (DefinitionS3Location): the template holds the ASL.
    assert "DefinitionS3Location" not in sm
    assert json.loads(sm["DefinitionString"]) == ASL
    assert sm["TracingConfiguration"] == {"Enabled": True}


def test_xray_samples_a_share_of_executions_without_a_reservoir(dev: Synth) -> None:
    dev.template.has_resource_properties(
        "AWS::XRay::SamplingRule",
        {
            "SamplingRule": {
                "RuleName": names.infra_names("dev")["trace_sampling_rule"],
                "FixedRate": names.TRACE_SAMPLE_RATE,
                "ReservoirSize": 0,
                "ServiceName": DEV["state_machine"],
                "ServiceType": "AWS::StepFunctions::StateMachine",
                "Host": "*",
                "HTTPMethod": "*",
                "URLPath": "*",
                "ResourceARN": "*",
            }
        },
    )
    assert len(names.infra_names("prod")["trace_sampling_rule"]) <= 32  # X-Ray's limit


def test_trace_sample_rate_is_a_context_parameter() -> None:
    assert load_config_from_mapping({"traceSampleRate": "0"}).trace_sample_rate == 0.0
    assert load_config_from_mapping({"traceSampleRate": 1}).trace_sample_rate == 1.0
    with pytest.raises(ContextError) as error:
        load_config_from_mapping({"traceSampleRate": "1.5"})
    assert error.value.key == "traceSampleRate"


def test_every_placeholder_is_substituted(dev: Synth) -> None:
    sm = _sm(dev)
    placeholders = asl_placeholders(sm["DefinitionString"])
    assert placeholders == {
        "ValidateFunctionArn",
        "RenderFunctionArn",
        "LedgerTableName",
        "FromAddress",
        "ConfigurationSetName",
        "PacingTableName",
        "SendsPerWindow",
        "OrdersQueueUrl",
        "RateRequeueDelaySeconds",
        "QuotaRequeueDelaySeconds",
    }
    assert set(sm["DefinitionSubstitutions"]) == placeholders
    validate_id = function_id(dev.json, DEV["validate_function"])
    render_id = function_id(dev.json, DEV["render_function"])
    assert sm["DefinitionSubstitutions"] == {
        "ValidateFunctionArn": {"Fn::GetAtt": [validate_id, "Arn"]},
        "RenderFunctionArn": {"Fn::GetAtt": [render_id, "Arn"]},
        "LedgerTableName": {"Ref": table_id(dev.json, DEV["ledger_table"])},
        "FromAddress": "no-reply@shop.example",
        "ConfigurationSetName": {"Ref": only(dev.json, "AWS::SES::ConfigurationSet")},
        "PacingTableName": {"Ref": table_id(dev.json, DEV["pacing_table"])},
        "SendsPerWindow": "1",  # dev: the sandbox guard is on, so the sandbox's 1 mail/s
        "OrdersQueueUrl": {"Ref": only(dev.json, "AWS::SQS::Queue", name=DEV["orders_queue"])},
        "RateRequeueDelaySeconds": str(names.PACING_REQUEUE_DELAY_SECONDS),
        "QuotaRequeueDelaySeconds": str(names.QUOTA_REQUEUE_DELAY_SECONDS),
    }
    resolved, definition = resolved_definition(dev.json)
    assert "${" not in resolved
    assert definition["States"]["Send"]["Parameters"]["FromEmailAddress"] == "no-reply@shop.example"
    assert definition["States"]["Send"]["Parameters"]["ConfigurationSetName"] == DEV["configuration_set"]
    assert definition["States"]["Claim"]["Parameters"]["TableName"] == DEV["ledger_table"]


def test_execution_logging_with_retention_and_execution_data(dev: Synth, prod: Synth) -> None:
    destination = _sm(dev)["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]
    log_group_id = destination["LogGroupArn"]["Fn::GetAtt"][0]
    assert _sm(dev)["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group_id, "Arn"]}}}],
        "IncludeExecutionData": True,
        "Level": "ERROR",
    }
    dev.template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": DEV["execution_log_group"], "RetentionInDays": 30}
    )
    # Level and retention follow the context (prod: executionLogLevel=all, logRetentionDays=90).
    assert _sm(prod)["LoggingConfiguration"]["Level"] == "ALL"
    prod.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": names.resource_names("prod")["execution_log_group"], "RetentionInDays": 90},
    )


def test_state_machine_role_is_least_privilege(dev: Synth) -> None:
    role_id = _sm(dev)["RoleArn"]["Fn::GetAtt"][0]
    ledger_id = table_id(dev.json, DEV["ledger_table"])
    pacing_id = table_id(dev.json, DEV["pacing_table"])
    queue_id = only(dev.json, "AWS::SQS::Queue", name=DEV["orders_queue"])
    key_id = only(dev.json, "AWS::KMS::Key")
    validate_id = function_id(dev.json, DEV["validate_function"])
    render_id = function_id(dev.json, DEV["render_function"])
    ses = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
    logs_and_xray = {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
    assert allowed(dev.json, role_id) == {
        "dynamodb:UpdateItem": {f"${{{ledger_id}.Arn}}", f"${{{pacing_id}.Arn}}"},
        # Requeue (a spent quota, a long wait for a slot): the orders queue and its key, nothing else.
        "sqs:SendMessage": {f"${{{queue_id}.Arn}}"},
        "kms:GenerateDataKey": {f"${{{key_id}.Arn}}"},
        "kms:Decrypt": {f"${{{key_id}.Arn}}"},
        "lambda:InvokeFunction": {f"${{{validate_id}.Arn}}", f"${{{render_id}.Arn}}"},
        "ses:SendEmail": {
            f"{ses}:identity/shop.example",
            f"{ses}:configuration-set/{DEV['configuration_set']}",
        },
        **{action: {"*"} for action in logs_and_xray},
    }
    assert conditions_for(dev.json, role_id, "ses:SendEmail") == [
        {"StringEquals": {"ses:FromAddress": "no-reply@shop.example"}}
    ]
    dev.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "states.amazonaws.com"}})]}
            )
        },
    )


# --- the ASL itself -------------------------------------------------------------------------


def _next_states(state: dict[str, Any]) -> set[str]:
    targets = {state["Next"]} if "Next" in state else set()
    targets |= {choice["Next"] for choice in state.get("Choices", [])}
    if "Default" in state:
        targets.add(state["Default"])
    targets |= {catch["Next"] for catch in state.get("Catch", [])}
    return targets


def test_every_state_is_reachable_from_start_at() -> None:
    states = ASL["States"]
    seen: set[str] = set()
    frontier = [ASL["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in states, f"transition to unknown state {name}"
        frontier.extend(_next_states(states[name]))
    assert seen == set(states), f"unreachable: {sorted(set(states) - seen)}"


def test_every_task_retries_or_catches() -> None:
    for name, state in ASL["States"].items():
        if state["Type"] == "Task":
            assert state.get("Retry") or state.get("Catch"), f"{name} has neither Retry nor Catch"


def test_only_request_response_integrations() -> None:
    """EXPRESS allows neither .sync nor .waitForTaskToken."""
    for name, state in ASL["States"].items():
        resource = state.get("Resource", "")
        assert not resource.endswith((".sync", ".waitForTaskToken")), name


def test_moto_accepts_the_resolved_definition_as_an_express_machine(dev: Synth) -> None:
    resolved, _ = resolved_definition(dev.json)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name=REGION)
        created = client.create_state_machine(
            name=DEV["state_machine"],
            definition=resolved,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/ordermail-dev-state-machine",
            type="EXPRESS",
        )
        described = client.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["type"] == "EXPRESS"
    assert json.loads(described["definition"]) == json.loads(resolved)


def test_ledger_actions_granted_are_exactly_those_the_definition_calls() -> None:
    import json
    from pathlib import Path

    definition = json.loads((Path(__file__).resolve().parents[2] / "asl" / "order_email.asl.json").read_text())
    prefix = "arn:aws:states:::dynamodb:"
    used = {
        "dynamodb:" + state["Resource"][len(prefix):][0].upper() + state["Resource"][len(prefix) + 1:]
        for state in definition["States"].values()
        if state.get("Resource", "").startswith(prefix)
    }
    assert used == {"dynamodb:UpdateItem"}
