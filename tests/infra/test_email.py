"""Item 6: SES identity (Easy DKIM), configuration set, event destination, ses-events topic, feedback."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import (
    allowed,
    by_sid,
    function_id,
    key_policy,
    ledger_table_id,
    logical_id,
    only,
    policy_statements,
    render,
    role_of_function,
)

DEV = names.resource_names("dev")
CONFIG_SET_ARN = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"


def test_domain_identity_uses_easy_dkim_and_the_configuration_set(dev: Synth) -> None:
    config_set_id = only(dev.json, "AWS::SES::ConfigurationSet")
    dev.template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "EmailIdentity": "shop.example",
            "DkimAttributes": {"SigningEnabled": True},
            "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": config_set_id}},
        },
    )
    # No hosted zone given: no DNS records (published by hand, see the runbook).
    dev.template.resource_count_is("AWS::Route53::RecordSet", 0)


def test_prod_identity_writes_the_dkim_records_into_the_hosted_zone(prod: Synth) -> None:
    prod.template.has_resource_properties("AWS::SES::EmailIdentity", {"EmailIdentity": "mail.example.org"})
    prod.template.resource_count_is("AWS::Route53::RecordSet", 3)
    prod.template.all_resources_properties(
        "AWS::Route53::RecordSet", {"HostedZoneId": "Z0123456789ABCDEFGHIJ", "Type": "CNAME"}
    )


def test_configuration_set_has_reputation_metrics_and_requires_tls(dev: Synth) -> None:
    dev.template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {
            "Name": DEV["configuration_set"],
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "DeliveryOptions": {"TlsPolicy": "REQUIRE"},
            "SendingOptions": {"SendingEnabled": True},
        },
    )


def test_events_go_to_the_ses_events_topic(dev: Synth) -> None:
    topic_id = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["ses_events_topic"])
    expected = {
        "REJECT": "reject",
        "BOUNCE": "bounce",
        "COMPLAINT": "complaint",
        "DELIVERY": "delivery",
        "DELIVERY_DELAY": "deliveryDelay",
        "RENDERING_FAILURE": "renderingFailure",
    }
    assert set(expected) == set(names.SES_EVENT_TYPES)
    dev.template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "ConfigurationSetName": {"Ref": only(dev.json, "AWS::SES::ConfigurationSet")},
            "EventDestination": {
                "Enabled": True,
                "MatchingEventTypes": Match.array_with(list(expected.values())),
                "SnsDestination": {"TopicARN": {"Ref": topic_id}},
            },
        },
    )
    destination = dev.json["Resources"][only(dev.json, "AWS::SES::ConfigurationSetEventDestination")]
    assert sorted(destination["Properties"]["EventDestination"]["MatchingEventTypes"]) == sorted(
        expected.values()
    )


def test_only_ses_from_this_account_and_configuration_set_may_publish_events(dev: Synth) -> None:
    topic_id = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["ses_events_topic"])
    statements = policy_statements(dev.json, "AWS::SNS::TopicPolicy", "Topics", topic_id)
    ses = [s for s in statements if s.get("Principal") == {"Service": "ses.amazonaws.com"}]
    assert len(ses) == 1 and ses[0]["Action"] == "sns:Publish" and ses[0]["Effect"] == "Allow"
    assert render(ses[0]["Condition"]) == {
        "StringEquals": {
            "AWS:SourceAccount": "${AWS::AccountId}",
            "AWS:SourceArn": CONFIG_SET_ARN + f"${{{only(dev.json, 'AWS::SES::ConfigurationSet')}}}",
        }
    }
    key = by_sid(key_policy(dev.json), "AllowSesToPublishEvents")
    assert key["Principal"] == {"Service": "ses.amazonaws.com"}
    assert set(key["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert (
        render(key["Condition"])["StringEquals"]["aws:SourceArn"] == CONFIG_SET_ARN + DEV["configuration_set"]
    )


def test_feedback_function_is_subscribed_with_a_dead_letter_queue(dev: Synth) -> None:
    topic_id = logical_id(dev.json, "AWS::SNS::Topic", TopicName=DEV["ses_events_topic"])
    fn_id = function_id(dev.json, DEV["feedback_function"])
    dlq_id = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["feedback_dlq"])
    dlq_arn = {"Fn::GetAtt": [dlq_id, "Arn"]}
    dev.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": topic_id},
            "Endpoint": {"Fn::GetAtt": [fn_id, "Arn"]},
            "RedrivePolicy": {"deadLetterTargetArn": dlq_arn},
        },
    )
    dev.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": DEV["feedback_function"], "DeadLetterConfig": {"TargetArn": dlq_arn}},
    )
    dev.template.has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": DEV["feedback_dlq"], "KmsMasterKeyId": Match.any_value()}
    )
    # SNS (subscription DLQ) may send to it, and use the key for it.
    statements = policy_statements(dev.json, "AWS::SQS::QueuePolicy", "Queues", dlq_id)
    sns_allow = [s for s in statements if s["Effect"] == "Allow"]
    assert len(sns_allow) == 1
    assert sns_allow[0]["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sns_allow[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}}
    by_sid(key_policy(dev.json), "AllowSnsToFeedbackDeadLetter")


def test_feedback_role_reads_and_updates_the_ledger_and_queries_nothing(dev: Synth) -> None:
    fn_id = function_id(dev.json, DEV["feedback_function"])
    table_id = ledger_table_id(dev.json)
    dlq_id = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["feedback_dlq"])
    key_id = only(dev.json, "AWS::KMS::Key")
    log_group = dev.json["Resources"][fn_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert allowed(dev.json, role_of_function(dev.json, fn_id)) == {
        "dynamodb:GetItem": {f"${{{table_id}.Arn}}"},
        "dynamodb:UpdateItem": {f"${{{table_id}.Arn}}"},
        "sqs:SendMessage": {f"${{{dlq_id}.Arn}}"},
        "kms:GenerateDataKey": {f"${{{key_id}.Arn}}"},
        "kms:Decrypt": {f"${{{key_id}.Arn}}"},
        "logs:CreateLogStream": {f"${{{log_group}.Arn}}"},
        "logs:PutLogEvents": {f"${{{log_group}.Arn}}"},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }
    assert "cloudwatch:PutMetricData" not in allowed(dev.json, role_of_function(dev.json, fn_id))
