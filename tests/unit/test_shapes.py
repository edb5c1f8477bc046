"""The request-shape checks of ordermail/emulator/shapes.py, without a runtime."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ordermail.emulator import shapes
from ordermail.emulator.provision import render_definition

SUBSTITUTIONS = {
    "ValidateFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:validate",
    "RenderFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:render",
    "LedgerTableName": "ledger",
    "FromAddress": "orders@example.com",
    "ConfigurationSetName": "ordermail",
    "PacingTableName": "pacing",
    "SendsPerWindow": "14",
    "OrdersQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
    "RateRequeueDelaySeconds": "60",
    "QuotaRequeueDelaySeconds": "900",
}
SEND = "arn:aws:states:::aws-sdk:sesv2:sendEmail"
UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"


@pytest.fixture
def definition() -> dict[str, Any]:
    return json.loads(render_definition(SUBSTITUTIONS))


@pytest.mark.parametrize("seam", sorted(shapes.SEAMS))
def test_each_seam_exists_on_the_pinned_moto(seam: str) -> None:
    owner, attribute = shapes.SEAMS[seam]
    assert hasattr(owner, attribute), f"moto seam {seam!r} ({owner}.{attribute}) is gone"


def test_the_asl_as_written_passes(definition: dict[str, Any]) -> None:
    assert shapes.definition_errors(definition) == []
    checked = {state["Resource"] for state in definition["States"].values()
               if state["Type"] == "Task" and shapes.integration_for(state["Resource"])}
    assert checked == {SEND, UPDATE_ITEM, "arn:aws:states:::lambda:invoke"}  # every Task is checked


def test_integrations_resolve_to_their_botocore_operation() -> None:
    send = shapes.integration_for(SEND)
    assert send is not None and send.operation.name == "SendEmail" and send.supported is None
    update = shapes.integration_for(UPDATE_ITEM)
    assert update is not None and update.operation.name == "UpdateItem"
    assert update.supported is not None and "ReturnValuesOnConditionCheckFailure" not in update.supported
    assert shapes.integration_for("arn:aws:states:::lambda:invoke.waitForTaskToken") is not None
    assert shapes.integration_for("arn:aws:lambda:us-east-1:123456789012:function:f") is None
    assert shapes.integration_for("arn:aws:states:::aws-sdk:sesv2:noSuchAction") is None


def test_unknown_member_in_send_is_a_schema_error(definition: dict[str, Any]) -> None:
    definition["States"]["Send"]["Parameters"]["ReplyToAddress"] = "help@example.com"  # it is ReplyToAddresses
    assert shapes.definition_errors(definition) == [
        "SCHEMA_VALIDATION_FAILED: The field 'ReplyToAddress' is not supported by Step Functions at /States/Send/Parameters"
    ]


def test_dynamic_member_names_are_checked_too(definition: dict[str, Any]) -> None:
    definition["States"]["Send"]["Parameters"]["Tags.$"] = "$.validated.emailTags"  # it is EmailTags
    assert shapes.definition_errors(definition) == [
        "SCHEMA_VALIDATION_FAILED: The field 'Tags' is not supported by Step Functions at /States/Send/Parameters"
    ]


def test_missing_required_member_and_wrong_static_type(definition: dict[str, Any]) -> None:
    del definition["States"]["Claim"]["Parameters"]["Key"]
    definition["States"]["Send"]["Parameters"]["Content"]["Simple"]["Subject"]["Charset"] = 8
    assert sorted(shapes.definition_errors(definition)) == [
        "SCHEMA_VALIDATION_FAILED: The field 'Key' is required but was missing at /States/Claim/Parameters",
        "SCHEMA_VALIDATION_FAILED: The value for the field 'Charset' must be a STRING at /States/Send/Parameters",
    ]


def test_optimized_integrations_accept_only_step_functions_subset(definition: dict[str, Any]) -> None:
    # A real UpdateItem member, but not one the optimized integration passes on.
    definition["States"]["Claim"]["Parameters"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    definition["States"]["Validate"]["Parameters"]["InvocationType"] = "Event"
    assert sorted(shapes.definition_errors(definition)) == [
        "SCHEMA_VALIDATION_FAILED: The field 'InvocationType' is not supported by Step Functions at /States/Validate/Parameters",
        "SCHEMA_VALIDATION_FAILED: The field 'ReturnValuesOnConditionCheckFailure' is not supported by Step Functions at /States/Claim/Parameters",
    ]


def test_lambda_payload_is_any_json(definition: dict[str, Any]) -> None:
    definition["States"]["Render"]["Parameters"]["Payload"] = [1, {"a": True}]
    assert shapes.definition_errors(definition) == []


def test_nested_states_are_checked(definition: dict[str, Any]) -> None:
    send = copy.deepcopy(definition["States"]["Send"])
    send["Parameters"]["Bogus"] = 1
    send.pop("Catch"), send.pop("Retry")
    send["End"] = True
    send.pop("Next")
    definition["States"]["Fan"] = {
        "Type": "Parallel", "End": True, "Branches": [{"StartAt": "Send", "States": {"Send": send}}],
    }
    assert shapes.definition_errors(definition) == [
        "SCHEMA_VALIDATION_FAILED: The field 'Bogus' is not supported by Step Functions at /States/Fan/Branches[0]/States/Send/Parameters"
    ]


def _send_request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "FromEmailAddress": "orders@example.com",
        "Destination": {"ToAddresses": ["success@simulator.amazonses.com"]},
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
        "EmailTags": [{"Name": "orderId", "Value": "A-1"}],
    }
    request.update(changes)
    return request


def test_resolved_requests_are_checked_member_by_member() -> None:
    send = shapes.integration_for(SEND)
    assert send is not None
    assert shapes.check_request(send, _send_request()) == []
    assert shapes.check_request(send, _send_request(Destination={"ToAddresses": "a@example.com"})) == [
        "The value for the field 'ToAddresses' must be an ARRAY"
    ]
    assert shapes.check_request(send, _send_request(EmailTags=[{"Name": "orderId"}])) == [
        "The field 'Value' is required but was missing"
    ]
    # After resolution a key ending in `.$` is a literal name, not a path: unknown.
    assert shapes.check_request(send, _send_request(**{"EmailTags.$": []})) == [
        "The field 'EmailTags.$' is not supported by Step Functions"
    ]


def test_a_number_where_dynamodb_wants_a_string_is_refused() -> None:
    update = shapes.integration_for(UPDATE_ITEM)
    assert update is not None
    request = {
        "TableName": "ledger", "Key": {"orderId": {"S": "A-1"}}, "UpdateExpression": "SET #a = :n",
        "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":n": {"N": 5}},
    }
    # moto would send "5"; AWS refuses: numbers travel as strings in AttributeValue.
    assert shapes.check_request(update, request) == ["The value for the field 'N' must be a STRING"]
    request["ExpressionAttributeValues"] = {":n": {"N": "5"}, ":b": {"BOOL": "true"}}
    assert shapes.check_request(update, request) == ["The value for the field 'BOOL' must be a BOOLEAN"]
