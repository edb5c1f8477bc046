"""Customer lookup by id (context usersTable): the GetItem state, its projection, its one grant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import Synth, synthesize
from tests.infra.helpers import allowed, by_sid, conditions_for, only, resolved_definition, role_statements
from workflow.context import ContextError, load_config_from_mapping
from workflow.lookup import LOOKUP, NEEDS_LOOKUP, VALIDATE_CUSTOMER, with_customer_lookup
from workflow.state_machine import ASL_PATH

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOOKUP_CONTEXT = {
    "usersTable": "shop-users",
    "usersTableKey": "userId",
    "usersEmailAttribute": "primaryEmail",
    "usersLocaleAttribute": "locale",
    "usersTableKeyArn": KEY_ARN,
}


@pytest.fixture(scope="module")
def with_lookup(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(LOOKUP_CONTEXT, tmp_path_factory.mktemp("cdk-lookup"))


def _definition(synth: Synth) -> dict[str, Any]:
    return resolved_definition(synth.json)[1]


def _role_id(synth: Synth) -> str:
    sm = synth.json["Resources"][only(synth.json, "AWS::StepFunctions::StateMachine")]["Properties"]
    role_id: str = sm["RoleArn"]["Fn::GetAtt"][0]
    return role_id


def test_lookup_state_reads_only_the_projected_attributes_by_the_key(with_lookup: Synth) -> None:
    states = _definition(with_lookup)["States"]
    assert states["Validate"]["Next"] == NEEDS_LOOKUP
    assert states["Validate"]["Parameters"]["Payload"]["customerLookup"] is True
    assert states[NEEDS_LOOKUP]["Default"] == "Prepare"
    lookup = states[LOOKUP]
    assert lookup["Resource"] == "arn:aws:states:::dynamodb:getItem"  # SDK integration, no Lambda
    parameters = lookup["Parameters"]
    assert parameters["TableName"] == "shop-users"
    assert parameters["Key"] == {"userId": {"S.$": "$.validation.validated.customerId"}}
    assert parameters["ProjectionExpression"] == "#email, #name, #locale"
    assert parameters["ExpressionAttributeNames"] == {"#email": "primaryEmail", "#name": "name", "#locale": "locale"}
    assert "Catch" not in lookup  # a failed read fails the execution: SQS redelivers, never INVALID
    second = states[VALIDATE_CUSTOMER]
    assert second["Parameters"]["Payload"]["customer.$"] == "$.customer"
    assert second["Parameters"]["Payload"]["attributes"] == {"email": "primaryEmail", "name": "name", "locale": "locale"}
    assert second["Catch"] == states["Validate"]["Catch"] and second["Next"] == "Prepare"
    for claim in ("Claim", "ClaimResend"):
        assert "#recipient = :recipient ADD" in states[claim]["Parameters"]["UpdateExpression"]


def test_grant_is_get_item_on_that_table_alone_and_decrypt_on_its_key(with_lookup: Synth, dev: Synth) -> None:
    role_id = _role_id(with_lookup)
    granted = allowed(with_lookup.json, role_id)
    without = allowed(dev.json, _role_id(dev))
    extra = {action: left for action, resources in granted.items() if (left := resources - without.get(action, set()))}
    assert extra == {
        "dynamodb:GetItem": {"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/shop-users"},
        "kms:Decrypt": {KEY_ARN},
    }
    assert {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}} in conditions_for(
        with_lookup.json, role_id, "kms:Decrypt")  # the other Decrypt is the orders queue key's (Requeue)
    # read-only: nothing else of DynamoDB on the users table
    statement = by_sid(role_statements(with_lookup.json, role_id), "ReadCustomers")
    assert statement["Action"] == "dynamodb:GetItem"


def test_no_state_and_no_grant_without_users_table(dev: Synth) -> None:
    states = _definition(dev)["States"]
    assert not {NEEDS_LOOKUP, LOOKUP, VALIDATE_CUSTOMER} & states.keys()
    assert "customerLookup" not in states["Validate"]["Parameters"]["Payload"]
    granted = allowed(dev.json, _role_id(dev))
    assert "dynamodb:GetItem" not in granted
    key_id = only(dev.json, "AWS::KMS::Key")
    assert granted["kms:Decrypt"] == {f"${{{key_id}.Arn}}"}  # only the orders queue's key (Requeue), no users key


def test_table_arn_is_used_as_given() -> None:
    arn = "arn:aws:dynamodb:us-east-1:210987654321:table/users"
    config = load_config_from_mapping({"usersTable": arn})
    assert config.users_table is not None and config.users_table.key == "customerId"
    states = json.loads(with_customer_lookup(ASL_PATH.read_text(), config.users_table))["States"]
    assert states[LOOKUP]["Parameters"]["TableName"] == arn
    assert states[LOOKUP]["Parameters"]["ProjectionExpression"] == "#email, #name"


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"usersTable": "a b"}, "usersTable"),
        ({"usersTable": "arn:aws:s3:::bucket"}, "usersTable"),
        ({"usersTableKeyArn": KEY_ARN}, "usersTableKeyArn"),
        ({"usersTable": "users", "usersEmailAttribute": ""}, "usersEmailAttribute"),
    ],
)
def test_bad_lookup_context_is_refused(context: dict[str, str], key: str) -> None:
    with pytest.raises(ContextError) as caught:
        load_config_from_mapping(context)
    assert key in str(caught.value)
