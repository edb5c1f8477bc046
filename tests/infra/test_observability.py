"""Item 9: ops topic, dashboard, alarms → ops topic, monthly budget."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Match

from ordermail import cost
from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import by_sid, function_id, logical_id, only, policy_statements, render, resources
from workflow.context import load_config_from_mapping

DEV = names.resource_names("dev")


def _ops_topic(synth: Synth) -> str:
    return logical_id(
        synth.json, "AWS::SNS::Topic", TopicName=names.resource_names(synth.config.env)["ops_topic"]
    )


def test_ops_topic_accepts_alarms_and_budgets_from_this_account_only(dev: Synth) -> None:
    statements = policy_statements(dev.json, "AWS::SNS::TopicPolicy", "Topics", _ops_topic(dev))
    for sid, service, source in (
        (
            "AllowCloudWatchAlarms",
            "cloudwatch.amazonaws.com",
            "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*",
        ),
        ("AllowBudgets", "budgets.amazonaws.com", "arn:${AWS::Partition}:budgets::${AWS::AccountId}:*"),
    ):
        statement = by_sid(statements, sid)
        assert statement["Principal"] == {"Service": service} and statement["Action"] == "sns:Publish"
        assert render(statement["Condition"]) == {
            "StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"},
            "ArnLike": {"aws:SourceArn": source},
        }


def test_alarm_email_subscribes_only_when_given(dev: Synth, prod: Synth) -> None:
    assert not [
        s
        for s in resources(dev.json, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    prod.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "ops@example.org", "TopicArn": {"Ref": _ops_topic(prod)}},
    )


def test_dashboard_shows_the_flow_end_to_end(dev: Synth) -> None:
    dashboard = dev.json["Resources"][only(dev.json, "AWS::CloudWatch::Dashboard")]["Properties"]
    assert dashboard["DashboardName"] == names.infra_names("dev")["dashboard"]
    body = json.loads(render(dashboard["DashboardBody"]))
    metrics = {
        (m[0], m[1])
        for widget in body["widgets"]
        for m in widget["properties"].get("metrics", [])
        if len(m) > 1
    }
    for expected in [
        ("AWS/SNS", "NumberOfMessagesPublished"),
        ("AWS/States", "ExecutionsSucceeded"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionTime"),
        ("AWS/SES", "Send"),
        ("AWS/SES", "Delivery"),
        ("AWS/SES", "Bounce"),
        ("AWS/SES", "Complaint"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Errors"),
    ]:
        assert expected in metrics, expected


def _alarms(synth: Synth) -> dict[str, dict[str, object]]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in resources(synth.json, "AWS::CloudWatch::Alarm").values()
    }


def test_every_alarm_notifies_the_ops_topic(dev: Synth) -> None:
    alarms = _alarms(dev)
    assert len(alarms) == 10
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": _ops_topic(dev)}], name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_alarm_metrics_and_thresholds(dev: Synth) -> None:
    sm_ref = {"Ref": only(dev.json, "AWS::StepFunctions::StateMachine")}
    orders_dlq = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_dlq"])
    feedback_dlq = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["feedback_dlq"])
    orders_queue = logical_id(dev.json, "AWS::SQS::Queue", QueueName=DEV["orders_queue"])
    dimensions = {
        "ses-bounce-rate": ("AWS/SES", "Reputation.BounceRate", 0.02, None),
        "ses-complaint-rate": ("AWS/SES", "Reputation.ComplaintRate", 0.001, None),
        "execution-failures": (
            "AWS/States",
            "ExecutionsFailed",
            1,
            [{"Name": "StateMachineArn", "Value": sm_ref}],
        ),
        # dev: the sandbox's 200 a day (context sesDailyQuota), 80% of it within a one-day period.
        "ses-daily-quota": ("AWS/SES", "Send", 160, None),
        "orders-dlq-not-empty": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            1,
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [orders_dlq, "QueueName"]}}],
        ),
        "feedback-dlq-not-empty": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            1,
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [feedback_dlq, "QueueName"]}}],
        ),
        "orders-oldest-message": (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            900,
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [orders_queue, "QueueName"]}}],
        ),
    }
    # No status-api-errors: the operator calling it sees a 5xx (RUNBOOK), and ten alarms are free.
    for short, threshold in (("validate", 5), ("render", 1), ("feedback", 1)):
        fn_name = DEV[f"{short}_function"]
        dimensions[f"{short}-errors"] = (
            "AWS/Lambda",
            "Errors",
            threshold,
            [{"Name": "FunctionName", "Value": {"Ref": function_id(dev.json, fn_name)}}],
        )
    alarms = _alarms(dev)
    for short, (namespace, metric, threshold, dims) in dimensions.items():
        alarm = alarms[f"ordermail-dev-{short}"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
            namespace,
            metric,
            threshold,
        ), short
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm.get("Dimensions") == dims, short
        assert f"RUNBOOK.md#{short}" in str(alarm["AlarmDescription"])
    assert set(alarms) == {f"ordermail-dev-{short}" for short in dimensions}
    assert alarms["ordermail-dev-ses-daily-quota"]["Period"] == 86_400  # a day, as the quota counts
    assert len(alarms) == cost.ALARMS == 10  # the cost model counts what the stack has: CloudWatch's free ten


def test_bounce_and_complaint_thresholds_come_from_context() -> None:
    config = load_config_from_mapping({"bounceRateThreshold": "0.03", "complaintRateThreshold": "0.002"})
    assert (config.bounce_rate_threshold, config.complaint_rate_threshold) == (0.03, 0.002)


def test_monthly_budget_notifies_the_ops_topic(dev: Synth, prod: Synth) -> None:
    subscriber = [{"SubscriptionType": "SNS", "Address": {"Ref": _ops_topic(dev)}}]
    dev.template.has_resource_properties(
        "AWS::Budgets::Budget",
        {
            "Budget": {
                "BudgetName": "ordermail-dev-monthly",
                "BudgetType": "COST",
                "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": 10, "Unit": "USD"},
                "CostFilters": {"TagKeyValue": [f"user:{names.COST_ALLOCATION_TAG}${names.SERVICE_NAME}"]},
            },
            "NotificationsWithSubscribers": [
                {
                    "Notification": {
                        "NotificationType": "ACTUAL",
                        "ComparisonOperator": "GREATER_THAN",
                        "Threshold": 80,
                        "ThresholdType": "PERCENTAGE",
                    },
                    "Subscribers": subscriber,
                },
                {
                    "Notification": {
                        "NotificationType": "FORECASTED",
                        "ComparisonOperator": "GREATER_THAN",
                        "Threshold": 100,
                        "ThresholdType": "PERCENTAGE",
                    },
                    "Subscribers": subscriber,
                },
            ],
        },
    )
    prod.template.has_resource_properties(
        "AWS::Budgets::Budget", {"Budget": Match.object_like({"BudgetLimit": {"Amount": 25, "Unit": "USD"}})}
    )


def test_every_resource_is_tagged_for_cost_allocation(dev: Synth) -> None:
    dev.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Tags": Match.array_with([{"Key": names.COST_ALLOCATION_TAG, "Value": names.SERVICE_NAME}])},
    )
    for type_ in (
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::StepFunctions::StateMachine",
    ):
        dev.template.all_resources_properties(
            type_,
            {"Tags": Match.array_with([{"Key": names.COST_ALLOCATION_TAG, "Value": names.SERVICE_NAME}])},
        )


def test_every_alarm_has_a_runbook_section(dev: Synth) -> None:
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "RUNBOOK.md").read_text()
    headings = {line.removeprefix("## ").strip() for line in runbook.splitlines() if line.startswith("## ")}
    for name in _alarms(dev):
        assert name.removeprefix("ordermail-dev-") in headings, name
