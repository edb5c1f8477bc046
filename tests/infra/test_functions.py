"""Items 7 and 11: the four functions — runtime, layer, tracing, logs, environment, roles; the sandbox guard."""

from __future__ import annotations

from typing import Any

import pytest

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import allowed, function_id, render, resources, role_of_function
from workflow.context import load_config_from_mapping

DEV = names.resource_names("dev")
POWERTOOLS_ENV = {
    names.ENV_POWERTOOLS_SERVICE: names.SERVICE_NAME,
    names.ENV_POWERTOOLS_NAMESPACE: names.METRICS_NAMESPACE,
    names.ENV_LOG_LEVEL: "WARNING",
}
HANDLERS = {
    "validate_function": "tasks.validate.handler",
    "render_function": "tasks.render.handler",
    "feedback_function": "tasks.feedback.handler",
    "status_api_function": "tasks.status_api.handler",
}
LAYER = (
    f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:{names.POWERTOOLS_LAYER_ACCOUNT}:layer:"
    f"{names.POWERTOOLS_LAYER_NAME}:{names.POWERTOOLS_LAYER_VERSION}"
)


def _fn(synth: Synth, key: str) -> dict[str, Any]:
    props: dict[str, Any] = synth.json["Resources"][
        function_id(synth.json, names.resource_names(synth.config.env)[key])
    ]["Properties"]
    return props


@pytest.mark.parametrize("key", list(HANDLERS))
def test_function_runtime_layer_tracing_and_log_group(dev: Synth, key: str) -> None:
    fn = _fn(dev, key)
    assert fn["Handler"] == HANDLERS[key]
    assert fn["Runtime"] == "python3.12"
    assert fn["Architectures"] == ["arm64"]
    # The feedback function runs once per SES event, invoked by SNS: it traces only when asked.
    assert fn["TracingConfig"] == {"Mode": "PassThrough" if key == "feedback_function" else "Active"}
    assert [render(layer) for layer in fn["Layers"]] == [LAYER]
    log_group = dev.json["Resources"][fn["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert (log_group["LogGroupName"], log_group["RetentionInDays"]) == (f"/aws/lambda/{DEV[key]}", 30)


def test_all_functions_share_one_code_asset(dev: Synth) -> None:
    keys = {fn["Properties"]["Code"]["S3Key"] for fn in resources(dev.json, "AWS::Lambda::Function").values()}
    assert len(keys) == 1
    assert len(resources(dev.json, "AWS::Lambda::Function")) == 4


def test_environment_of_each_function(dev: Synth) -> None:
    table_ref = {"Ref": next(iter(resources(dev.json, "AWS::DynamoDB::Table")))}
    expected: dict[str, dict[str, Any]] = {
        "validate_function": {
            names.ENV_ENVIRONMENT: "dev",
            names.ENV_DEFAULT_CURRENCY: "USD",
            names.ENV_SES_SANDBOX: "true",
            names.ENV_SANDBOX_RECIPIENT: f"success@{names.SES_SIMULATOR_DOMAIN}",
            names.ENV_RETENTION_DAYS: "90",
            names.ENV_CLAIM_LEASE_SECONDS: str(names.CLAIM_LEASE_SECONDS),
            names.ENV_PACING_MAX_WAIT_SECONDS: str(names.PACING_MAX_WAIT_SECONDS),
        },
        "render_function": {
            names.ENV_SHOP_NAME: "Example Shop",
            names.ENV_DEFAULT_CURRENCY: "USD",
            names.ENV_ENVIRONMENT: "dev",
        },
        "feedback_function": {names.ENV_LEDGER_TABLE: table_ref, names.ENV_ENVIRONMENT: "dev",
                              names.ENV_RETENTION_DAYS: "90", names.ENV_DELIVERED_RETENTION_DAYS: "30"},
        "status_api_function": {names.ENV_LEDGER_TABLE: table_ref, names.ENV_ENVIRONMENT: "dev"},
    }
    for key, env in expected.items():
        assert _fn(dev, key)["Environment"]["Variables"] == {**POWERTOOLS_ENV, **env}, key


def test_sandbox_guard_is_off_in_prod_by_default(prod: Synth) -> None:
    env = _fn(prod, "validate_function")["Environment"]["Variables"]
    assert env[names.ENV_SES_SANDBOX] == "false"
    assert prod.config.ses_sandbox is False


def test_sandbox_guard_follows_explicit_context() -> None:
    # Parsing is enough here: the env var is "true"/"false" of the parsed flag (asserted above).
    assert load_config_from_mapping({"env": "prod", "sesSandbox": "true"}).ses_sandbox is True
    assert load_config_from_mapping({"env": "test", "sesSandbox": "false"}).ses_sandbox is False


@pytest.mark.parametrize("key", ["validate_function", "render_function"])
def test_workflow_task_roles_only_write_their_logs_and_traces(dev: Synth, key: str) -> None:
    fn_id = function_id(dev.json, DEV[key])
    log_group = dev.json["Resources"][fn_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert allowed(dev.json, role_of_function(dev.json, fn_id)) == {
        "logs:CreateLogStream": {f"${{{log_group}.Arn}}"},
        "logs:PutLogEvents": {f"${{{log_group}.Arn}}"},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }


def test_function_roles_have_no_managed_policies(dev: Synth) -> None:
    for key in HANDLERS:
        role_id = role_of_function(dev.json, function_id(dev.json, DEV[key]))
        role = dev.json["Resources"][role_id]["Properties"]
        assert "ManagedPolicyArns" not in role, key
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "lambda.amazonaws.com"
        }
