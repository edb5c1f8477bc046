"""Item 8: the status API — IAM auth on every method, Lambda proxy, read-only role, logs and tracing."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import (
    allowed,
    function_id,
    ledger_table_id,
    logical_id,
    render,
    resources,
    role_of_function,
)

DEV = names.resource_names("dev")
INFRA = names.infra_names("dev")


def test_every_method_requires_iam_auth(dev: Synth) -> None:
    api = logical_id(dev.json, "AWS::ApiGateway::RestApi", Name=INFRA["status_api"])
    methods = {
        k: r for k, r in resources(dev.json, "AWS::ApiGateway::Method").items()
        if r["Properties"]["RestApiId"] == {"Ref": api}
    }
    assert len(methods) == 2
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert method["Properties"]["HttpMethod"] == "GET"


def test_routes_are_lambda_proxies_to_the_status_function(dev: Synth) -> None:
    fn_id = function_id(dev.json, DEV["status_api_function"])
    paths = {r["Properties"]["PathPart"] for r in resources(dev.json, "AWS::ApiGateway::Resource").values()}
    assert paths == {"orders", "{orderId}"}
    integration = {
        "Type": "AWS_PROXY",
        "IntegrationHttpMethod": "POST",
        "Uri": Match.object_like(
            {"Fn::Join": Match.array_with([Match.array_with([{"Fn::GetAtt": [fn_id, "Arn"]}])])}
        ),
    }
    dev.template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "Integration": integration,
            "RequestParameters": {"method.request.path.orderId": True},
            "RequestValidatorId": Match.any_value(),
        },
    )
    dev.template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "Integration": integration,
            "RequestParameters": {
                "method.request.querystring.status": False,
                "method.request.querystring.since": False,
                "method.request.querystring.limit": False,
            },
        },
    )
    dev.template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestParameters": True}
    )


def test_stage_has_tracing_access_logs_and_no_data_trace(dev: Synth) -> None:
    log_group_id = logical_id(
        dev.json, "AWS::Logs::LogGroup", LogGroupName=INFRA["status_api_access_log_group"]
    )
    dev.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": {
                    "Fn::Join": [
                        "",
                        Match.array_with([":log-group:", {"Ref": log_group_id}]),
                    ]
                },
                "Format": Match.serialized_json(Match.object_like({"requestId": "$context.requestId"})),
            },
            "MethodSettings": [
                Match.object_like({"LoggingLevel": "ERROR", "DataTraceEnabled": False, "HttpMethod": "*"})
            ],
        },
    )
    dev.template.has_resource_properties("AWS::ApiGateway::RestApi", {"Name": INFRA["status_api"]})


def test_status_function_reads_exactly_what_its_handler_calls(dev: Synth) -> None:
    # GetItem (one order), Query on byStatus then BatchGetItem (a status listing); nothing else:
    # without BatchGetItem `GET /orders?status=` answers 502 on AWS as soon as one order matches.
    fn_id = function_id(dev.json, DEV["status_api_function"])
    table_id = ledger_table_id(dev.json)
    log_group = dev.json["Resources"][fn_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    table = f"${{{table_id}.Arn}}"
    assert allowed(dev.json, role_of_function(dev.json, fn_id)) == {
        "dynamodb:GetItem": {table},
        "dynamodb:BatchGetItem": {table},
        "dynamodb:Query": {f"{table}/index/{names.LEDGER_STATUS_INDEX}"},
        "logs:CreateLogStream": {f"${{{log_group}.Arn}}"},
        "logs:PutLogEvents": {f"${{{log_group}.Arn}}"},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }


def test_only_api_gateway_may_invoke_the_status_function(dev: Synth) -> None:
    fn_id = function_id(dev.json, DEV["status_api_function"])
    permissions = [
        p["Properties"]
        for p in resources(dev.json, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn_id, "Arn"]}
    ]
    assert permissions and all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions)
    for permission in permissions:
        assert "execute-api" in str(render(permission["SourceArn"]))
