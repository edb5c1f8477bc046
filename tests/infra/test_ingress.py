"""Items 1-2: the orders topic (CMK, publishers, TLS), the queue and DLQ (SSE, redrive), the subscription."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import (
    by_sid,
    key_policy,
    logical_id,
    only,
    policy_statements,
    render,
    resources,
    tls_deny,
)
from workflow.state_machine import ASL_PATH

DEV = names.resource_names("dev")


def _key_id(synth: Synth) -> str:
    return only(synth.json, "AWS::KMS::Key")


def test_one_customer_managed_key_with_rotation(dev: Synth) -> None:
    dev.template.resource_count_is("AWS::KMS::Key", 1)
    dev.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    dev.template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/ordermail-dev"})


def test_every_topic_is_encrypted_with_the_key_and_denies_publishing_without_tls(dev: Synth) -> None:
    key_arn = {"Fn::GetAtt": [_key_id(dev), "Arn"]}
    topics = resources(dev.json, "AWS::SNS::Topic")
    assert {t["Properties"]["TopicName"] for t in topics.values()} == {
        DEV["orders_topic"],
        DEV["ses_events_topic"],
        DEV["ops_topic"],
    }
    for topic_id, topic in topics.items():
        assert topic["Properties"]["KmsMasterKeyId"] == key_arn
        denies = tls_deny(policy_statements(dev.json, "AWS::SNS::TopicPolicy", "Topics", topic_id))
        assert denies and all(s["Action"] == "sns:Publish" for s in denies), topic_id


def test_orders_topic_allows_publish_only_to_the_deploying_account_by_default(dev: Synth) -> None:
    topic_id = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["orders_topic"])
    statements = policy_statements(dev.json, "AWS::SNS::TopicPolicy", "Topics", topic_id)
    allow = by_sid(statements, "AllowConfiguredPublishers")
    assert allow["Effect"] == "Allow" and allow["Action"] == "sns:Publish"
    assert render(allow["Principal"]["AWS"]) == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
    deny = by_sid(statements, "DenyOtherPublishers")
    assert deny["Effect"] == "Deny" and deny["Action"] == "sns:Publish"
    assert render(deny["Condition"]) == {"StringNotEquals": {"aws:PrincipalAccount": ["${AWS::AccountId}"]}}
    # Nothing else may publish: no other Allow statement on the topic.
    assert [s["Sid"] for s in statements if s["Effect"] == "Allow"] == ["AllowConfiguredPublishers"]


def test_orders_topic_allows_the_configured_publishers_in_prod(prod: Synth) -> None:
    topic_id = logical_id(prod.json, "AWS::SNS::Topic", TopicName="ordermail-prod-orders")
    statements = policy_statements(prod.json, "AWS::SNS::TopicPolicy", "Topics", topic_id)
    allow = by_sid(statements, "AllowConfiguredPublishers")
    # Plus the HTTP intake's role (tests/infra/test_intake.py), whoever else is configured.
    api_role = {"Fn::GetAtt": [logical_id(prod.json, "AWS::IAM::Role", Description="orders API -> sns:Publish on the orders topic"), "Arn"]}
    assert allow["Principal"]["AWS"] == [
        "arn:aws:iam::111111111111:role/order-service",
        "arn:aws:iam::222222222222:root",
        api_role,
    ]
    deny = by_sid(statements, "DenyOtherPublishers")
    assert deny["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/order-service", api_role]},
        "StringNotEquals": {"aws:PrincipalAccount": ["222222222222"]},
    }
    # Cross-account publishers need the key, through SNS only.
    publishers = by_sid(key_policy(prod.json), "AllowOrderPublishersViaSns")
    assert set(publishers["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert render(publishers["Condition"]) == {
        "StringEquals": {"kms:ViaService": "sns.${AWS::Region}.amazonaws.com"}
    }


def test_queue_and_dlq_are_encrypted_tls_only_and_wired_for_redrive(dev: Synth) -> None:
    key_arn = {"Fn::GetAtt": [_key_id(dev), "Arn"]}
    dlq_id = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_dlq"])
    dev.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": DEV["orders_queue"],
            "KmsMasterKeyId": key_arn,
            "VisibilityTimeout": names.QUEUE_VISIBILITY_SECONDS,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                "maxReceiveCount": 5,
            },
        },
    )
    dev.template.has_resource_properties(
        "AWS::SQS::Queue",
        {"QueueName": DEV["orders_dlq"], "KmsMasterKeyId": key_arn, "MessageRetentionPeriod": 14 * 24 * 3600},
    )
    for queue_id in resources(dev.json, "AWS::SQS::Queue"):
        # A data key serves a queue for 24 hours, the maximum: each GenerateDataKey is a billed KMS request.
        assert dev.json["Resources"][queue_id]["Properties"]["KmsDataKeyReusePeriodSeconds"] == 86_400, queue_id
        denies = tls_deny(policy_statements(dev.json, "AWS::SQS::QueuePolicy", "Queues", queue_id))
        assert denies and all(s["Action"] == "sqs:*" for s in denies), queue_id


def test_max_receive_count_comes_from_context(prod: Synth) -> None:
    prod.template.has_resource_properties(
        "AWS::SQS::Queue",
        {"QueueName": "ordermail-prod-orders", "RedrivePolicy": Match.object_like({"maxReceiveCount": 3})},
    )


def test_visibility_timeout_outlasts_any_execution() -> None:
    asl_timeout = json.loads(ASL_PATH.read_text())["TimeoutSeconds"]
    assert names.QUEUE_VISIBILITY_SECONDS > names.EXPRESS_MAX_SECONDS >= asl_timeout


def test_raw_delivery_subscription_filters_on_the_event_type(dev: Synth) -> None:
    topic_id = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["orders_topic"])
    queue_id = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_queue"])
    dev.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "TopicArn": {"Ref": topic_id},
            "Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]},
            "RawMessageDelivery": True,
            "FilterPolicy": {names.ORDER_EVENT_TYPE_ATTRIBUTE: [names.ORDER_EVENT_TYPE]},
        },
    )
    # SNS may send to the queue only from this topic, and may use the key only for it.
    statements = policy_statements(dev.json, "AWS::SQS::QueuePolicy", "Queues", queue_id)
    allow = by_sid(statements, "AllowOrdersTopic")
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}}
    sns_key = by_sid(key_policy(dev.json), "AllowSnsToOrdersQueue")
    assert render(sns_key["Condition"]) == {
        "ArnEquals": {
            "aws:SourceArn": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:"
            + DEV["orders_topic"]
        }
    }
