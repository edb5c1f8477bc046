"""Issue 11: orders in over signed HTTP (API Gateway → sns:Publish) and EventBridge (rule → queue),
and the Pipe reading a shop's own queue (context ordersQueueArn)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tasks import intake, names
from tests.infra.conftest import Synth, synthesize
from tests.infra.helpers import (
    allowed,
    by_sid,
    key_policy,
    logical_id,
    only,
    policy_statements,
    render,
    resources,
)

DEV = names.resource_names("dev")
INFRA = names.infra_names("dev")
SHOP_QUEUE = "arn:aws:sqs:us-east-1:111111111111:shop-orders"
SHOP_KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _orders_api(synth: Synth) -> str:
    return logical_id(synth.json, "AWS::ApiGateway::RestApi", Name=names.infra_names(synth.config.env)["orders_api"])


def _post(synth: Synth) -> dict[str, Any]:
    api = _orders_api(synth)
    found = [
        r["Properties"]
        for r in resources(synth.json, "AWS::ApiGateway::Method").values()
        if r["Properties"]["RestApiId"] == {"Ref": api}
    ]
    assert len(found) == 1, found  # POST / and nothing else
    return found[0]


def _api_role(synth: Synth) -> str:
    return str(_post(synth)["Integration"]["Credentials"]["Fn::GetAtt"][0])


def _topic(synth: Synth) -> str:
    return logical_id(synth.json, "AWS::SNS::Topic", TopicName=names.resource_names(synth.config.env)["orders_topic"])


def _queue(synth: Synth) -> str:
    return logical_id(synth.json, "AWS::SQS::Queue", QueueName=names.resource_names(synth.config.env)["orders_queue"])


# --- HTTP intake ---------------------------------------------------------------------------------


def test_post_is_iam_authorized_and_validates_the_body_against_the_shared_schema(dev: Synth) -> None:
    post = _post(dev)
    assert post["HttpMethod"] == "POST"
    assert post["AuthorizationType"] == "AWS_IAM"
    assert post["ResourceId"] == {"Fn::GetAtt": [_orders_api(dev), "RootResourceId"]}
    validator = dev.json["Resources"][post["RequestValidatorId"]["Ref"]]["Properties"]
    assert validator["ValidateRequestBody"] is True
    model = dev.json["Resources"][post["RequestModels"]["application/json"]["Ref"]]["Properties"]
    assert model["ContentType"] == "application/json"
    assert model["Schema"] == intake.ORDER_BODY_SCHEMA  # the constant the local runtime validates with
    assert model["Schema"]["required"] == ["orderId"]
    assert model["Schema"]["properties"]["orderId"] == {"type": "string"}


def test_integration_publishes_to_the_orders_topic_with_the_event_type_attribute(dev: Synth) -> None:
    integration = _post(dev)["Integration"]
    assert integration["Type"] == "AWS"  # a service integration: no Lambda in between
    assert integration["IntegrationHttpMethod"] == "POST"
    assert render(integration["Uri"]) == "arn:${AWS::Partition}:apigateway:${AWS::Region}:sns:action/Publish"
    assert integration["PassthroughBehavior"] == "NEVER"  # another content type is refused, not passed on
    template = render(integration["RequestTemplates"]["application/json"])
    params = dict(part.split("=", 1) for part in template.split("&"))
    assert params["Action"] == "Publish"
    assert params["TopicArn"] == f"$util.urlEncode('${{{_topic(dev)}}}')"
    assert params["Message"] == "$util.urlEncode($input.body)"
    assert params["MessageAttributes.entry.1.Name"] == names.ORDER_EVENT_TYPE_ATTRIBUTE
    assert params["MessageAttributes.entry.1.Value.DataType"] == "String"
    assert params["MessageAttributes.entry.1.Value.StringValue"] == names.ORDER_EVENT_TYPE
    responses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
    assert set(responses) == {"202", "400", "502"}
    assert "SelectionPattern" not in responses["202"]  # the default: SNS answered 2xx
    assert "MessageId" in responses["202"]["ResponseTemplates"]["application/json"]
    assert responses["400"]["SelectionPattern"] == "400"  # SNS refused it (e.g. too large)
    assert str(intake.ORDER_MAX_BODY_BYTES) in responses["400"]["ResponseTemplates"]["application/json"]
    # Any other SNS error (403: the role lost its grant) is not the caller's fault.
    pattern = re.compile(responses["502"]["SelectionPattern"])
    assert [code for code in ("400", "403", "404", "429", "500", "503", "200") if pattern.fullmatch(code)] == [
        "403", "404", "429", "500", "503"
    ]


def test_a_refused_body_gets_a_json_400(dev: Synth) -> None:
    api = _orders_api(dev)
    (response,) = [
        r["Properties"]
        for r in resources(dev.json, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["RestApiId"] == {"Ref": api}
    ]
    assert response["ResponseType"] == "BAD_REQUEST_BODY"
    assert response["StatusCode"] == "400"
    assert intake.BAD_BODY_MESSAGE in response["ResponseTemplates"]["application/json"]


def test_the_api_role_may_publish_to_the_orders_topic_and_nothing_else(dev: Synth) -> None:
    key = only(dev.json, "AWS::KMS::Key")
    assert allowed(dev.json, _api_role(dev)) == {
        "sns:Publish": {f"${{{_topic(dev)}}}"},
        # The topic is KMS-encrypted: SNS checks the publisher's right to the key.
        "kms:GenerateDataKey": {f"${{{key}.Arn}}"},
        "kms:Decrypt": {f"${{{key}.Arn}}"},
    }
    trust = dev.json["Resources"][_api_role(dev)]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "apigateway.amazonaws.com"}]
    assert render(trust[0]["Condition"]) == {"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}}


def test_configured_publishers_do_not_lock_out_the_api_role(prod: Synth) -> None:
    statements = policy_statements(prod.json, "AWS::SNS::TopicPolicy", "Topics", _topic(prod))
    role = {"Fn::GetAtt": [_api_role(prod), "Arn"]}
    assert role in by_sid(statements, "AllowConfiguredPublishers")["Principal"]["AWS"]
    assert role in by_sid(statements, "DenyOtherPublishers")["Condition"]["ArnNotLike"]["aws:PrincipalArn"]


def test_stage_throttling_comes_from_context_and_access_logs_carry_no_body(
    dev: Synth, tmp_path: Path
) -> None:
    def stage(synth: Synth) -> dict[str, Any]:
        api = _orders_api(synth)
        (found,) = [
            r["Properties"]
            for r in resources(synth.json, "AWS::ApiGateway::Stage").values()
            if r["Properties"]["RestApiId"] == {"Ref": api}
        ]
        return found

    settings = stage(dev)["MethodSettings"][0]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (
        names.CONTEXT_DEFAULTS["ordersApiRateLimit"],
        names.CONTEXT_DEFAULTS["ordersApiBurstLimit"],
    )
    assert settings["DataTraceEnabled"] is False
    log_format = stage(dev)["AccessLogSetting"]["Format"]
    assert "$context.requestId" in log_format and "$input.body" not in log_format and "body" not in log_format
    assert render(stage(dev)["AccessLogSetting"]["DestinationArn"]).endswith(
        f"${{{logical_id(dev.json, 'AWS::Logs::LogGroup', LogGroupName=INFRA['orders_api_access_log_group'])}}}"
    )
    custom = synthesize({"ordersApiRateLimit": "7", "ordersApiBurstLimit": "9"}, tmp_path)
    settings = stage(custom)["MethodSettings"][0]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (7, 9)


# --- EventBridge intake --------------------------------------------------------------------------


def test_rule_on_the_stack_bus_sends_the_detail_to_the_orders_queue(dev: Synth) -> None:
    bus = logical_id(dev.json, "AWS::Events::EventBus", Name=INFRA["orders_event_bus"])
    assert INFRA["orders_event_bus"] == "ordermail-dev"
    rule = dev.json["Resources"][only(dev.json, "AWS::Events::Rule")]["Properties"]
    assert rule["EventBusName"] == {"Ref": bus}
    assert rule["EventPattern"] == {"detail-type": [names.ORDER_EVENT_TYPE]}  # any source by default
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_queue(dev), "Arn"]}
    # The detail alone: the order JSON, the same body raw SNS delivery leaves in the queue.
    assert target["InputPath"] == "$.detail"
    assert "InputTransformer" not in target and "Input" not in target


def test_queue_lets_only_this_rule_send_and_the_key_lets_eventbridge_encrypt(dev: Synth) -> None:
    rule = only(dev.json, "AWS::Events::Rule")
    statements = policy_statements(dev.json, "AWS::SQS::QueuePolicy", "Queues", _queue(dev))
    events = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events == [by_sid(statements, "AllowOrderEventsRule")]
    assert events[0]["Effect"] == "Allow" and events[0]["Action"] == "sqs:SendMessage"
    assert events[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}}
    key = by_sid(key_policy(dev.json), "AllowEventBridgeToOrdersQueue")
    assert key["Principal"] == {"Service": "events.amazonaws.com"}
    assert render(key["Condition"]) == {
        "ArnEquals": {
            "aws:SourceArn": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/ordermail-dev/ordermail-dev-orders"
        }
    }


def test_an_existing_bus_and_sources_come_from_context(tmp_path: Path) -> None:
    synth = synthesize({"ordersEventBusName": "shop-bus", "ordersEventSources": "com.shop.checkout, com.shop.pos"}, tmp_path)
    assert resources(synth.json, "AWS::Events::EventBus") == {}  # the shop's bus: not created
    rule = synth.json["Resources"][only(synth.json, "AWS::Events::Rule")]["Properties"]
    assert rule["EventBusName"] == "shop-bus"
    assert rule["EventPattern"] == {"detail-type": [names.ORDER_EVENT_TYPE], "source": ["com.shop.checkout", "com.shop.pos"]}
    assert render(synth.json["Outputs"]["OrdersEventBusName"]["Value"]) == "shop-bus"
    key = by_sid(key_policy(synth.json), "AllowEventBridgeToOrdersQueue")
    assert render(key["Condition"])["ArnEquals"]["aws:SourceArn"].endswith(":rule/shop-bus/ordermail-dev-orders")


def test_intake_outputs(dev: Synth) -> None:
    outputs = {key: render(value["Value"]) for key, value in dev.json["Outputs"].items()}
    api = _orders_api(dev)
    (stage,) = [
        k for k, r in resources(dev.json, "AWS::ApiGateway::Stage").items() if r["Properties"]["RestApiId"] == {"Ref": api}
    ]
    assert outputs["OrdersApiUrl"] == f"https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{stage}}}/"
    bus = logical_id(dev.json, "AWS::Events::EventBus", Name=INFRA["orders_event_bus"])
    assert outputs["OrdersEventBusName"] == f"${{{bus}}}"


# --- a queue the shop already has ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_queue(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        {"ordersQueueArn": SHOP_QUEUE, "ordersQueueKeyArn": SHOP_KEY}, tmp_path_factory.mktemp("cdk-shop-queue")
    )


def test_the_pipe_reads_the_shops_queue_and_may_only_consume_it(shop_queue: Synth) -> None:
    pipe = shop_queue.json["Resources"][only(shop_queue.json, "AWS::Pipes::Pipe")]["Properties"]
    assert pipe["Source"] == SHOP_QUEUE
    role = pipe["RoleArn"]["Fn::GetAtt"][0]
    sm = only(shop_queue.json, "AWS::StepFunctions::StateMachine")
    assert allowed(shop_queue.json, role) == {
        "sqs:ReceiveMessage": {SHOP_QUEUE},
        "sqs:DeleteMessage": {SHOP_QUEUE},
        "sqs:GetQueueAttributes": {SHOP_QUEUE},
        "kms:Decrypt": {SHOP_KEY},
        "states:StartSyncExecution": {f"${{{sm}}}"},
    }


def test_without_a_key_arn_the_pipe_gets_no_kms_grant(tmp_path: Path) -> None:
    synth = synthesize({"ordersQueueArn": SHOP_QUEUE}, tmp_path)
    role = synth.json["Resources"][only(synth.json, "AWS::Pipes::Pipe")]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert not [a for a in allowed(synth.json, role) if a.startswith("kms:")]


def test_the_shops_queue_replaces_the_stacks_topic_queue_and_intakes(shop_queue: Synth) -> None:
    assert resources(shop_queue.json, "AWS::Events::Rule") == {}
    assert resources(shop_queue.json, "AWS::Events::EventBus") == {}
    assert not [k for k in resources(shop_queue.json, "AWS::SNS::Subscription") if k.startswith("Ingress")]
    assert not [k for k in resources(shop_queue.json, "AWS::SQS::QueuePolicy") if k.startswith("Ingress")]
    topics = {r["Properties"]["TopicName"] for r in resources(shop_queue.json, "AWS::SNS::Topic").values()}
    assert DEV["orders_topic"] not in topics
    queues = {r["Properties"].get("QueueName") for r in resources(shop_queue.json, "AWS::SQS::Queue").values()}
    assert not {DEV["orders_queue"], DEV["orders_dlq"]} & queues
    apis = {r["Properties"]["Name"] for r in resources(shop_queue.json, "AWS::ApiGateway::RestApi").values()}
    assert apis == {INFRA["status_api"]}
    outputs = {key: render(value["Value"]) for key, value in shop_queue.json["Outputs"].items()}
    assert set(outputs) == set(names.STACK_OUTPUT_KEYS) - {"OrdersTopicArn", "DeadLetterQueueUrl"}
    assert outputs["OrdersQueueUrl"] == "https://sqs.us-east-1.${AWS::URLSuffix}/111111111111/shop-orders"
    assert shop_queue.nag_violations == []
