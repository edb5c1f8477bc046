"""Across all roles: every role is one the per-item tests pin down, and no action is a wildcard."""

from __future__ import annotations

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import function_id, only, resources, role_of_function, role_statements

DEV = names.resource_names("dev")
FUNCTIONS = ("validate_function", "render_function", "feedback_function", "status_api_function")


def test_every_role_is_accounted_for(dev: Synth) -> None:
    sm = dev.json["Resources"][only(dev.json, "AWS::StepFunctions::StateMachine")]["Properties"]
    pipe = dev.json["Resources"][only(dev.json, "AWS::Pipes::Pipe")]["Properties"]
    api_account = dev.json["Resources"][only(dev.json, "AWS::ApiGateway::Account")]["Properties"]
    (orders_api_post,) = [
        r["Properties"] for r in resources(dev.json, "AWS::ApiGateway::Method").values()
        if r["Properties"]["HttpMethod"] == "POST"
    ]
    expected = {
        *(role_of_function(dev.json, function_id(dev.json, DEV[key])) for key in FUNCTIONS),
        sm["RoleArn"]["Fn::GetAtt"][0],
        pipe["RoleArn"]["Fn::GetAtt"][0],
        api_account["CloudWatchRoleArn"]["Fn::GetAtt"][0],  # managed policy, acknowledged (IAM4)
        orders_api_post["Integration"]["Credentials"]["Fn::GetAtt"][0],  # tests/infra/test_intake.py
    }
    assert set(resources(dev.json, "AWS::IAM::Role")) == expected


def test_no_allow_statement_uses_a_wildcard_action(dev: Synth) -> None:
    for role_id in resources(dev.json, "AWS::IAM::Role"):
        for statement in role_statements(dev.json, role_id):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            # kms:GenerateDataKey* is not granted to roles (only to services in the key policy).
            assert not [a for a in actions if "*" in a], (role_id, statement)


def test_only_the_api_gateway_logging_role_uses_a_managed_policy(dev: Synth) -> None:
    with_managed = [
        k for k, r in resources(dev.json, "AWS::IAM::Role").items() if "ManagedPolicyArns" in r["Properties"]
    ]
    api_account = dev.json["Resources"][only(dev.json, "AWS::ApiGateway::Account")]["Properties"]
    assert with_managed == [api_account["CloudWatchRoleArn"]["Fn::GetAtt"][0]]
