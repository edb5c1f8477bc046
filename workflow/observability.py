"""Dashboard, alarms, budget: all on free built-in metrics first; every alarm goes to the ops topic.

docs/RUNBOOK.md has one section per alarm (what it means, how to look, what to do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from aws_cdk import Aws, Duration
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig

OLDEST_MESSAGE_ALARM_SECONDS: Final = 900  # a few redeliveries (visibility 360 s) without progress
# Share of the SES daily quota sent within CloudWatch's one-day period that raises the alarm.
QUOTA_ALARM_SHARE: Final = 0.8
# Validate raises InvalidOrder for bad input by design (a Lambda error); a few are normal.
FUNCTION_ERROR_THRESHOLDS: Final = {"validate": 5}
# Functions whose errors go on the dashboard but raise no alarm: the status API answers the operator
# who called it (a 5xx is seen there), sending does not depend on it, and the CLI reads the ledger
# directly. Ten alarms are CloudWatch's free allowance; an eleventh costs $0.10 a month.
UNALARMED_FUNCTIONS: Final = frozenset({"status-api"})
BUDGET_ACTUAL_PERCENT: Final = 80
BUDGET_FORECAST_PERCENT: Final = 100


def ses_metric(name: str, statistic: str = "Sum", period_minutes: int = 5) -> cw.Metric:
    """Account-level SES metric (AWS/SES, no dimensions)."""
    return cw.Metric(
        namespace="AWS/SES", metric_name=name, statistic=statistic, period=Duration.minutes(period_minutes)
    )


class Observability(Construct):
    """`ops_topic`, `dashboard`, `alarms` (by short name), `budget`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        key: kms.IKey,
        orders_topic: sns.ITopic | None,
        orders_queue: sqs.IQueue,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        infra = names.infra_names(config.env)
        prefix = infra["alarm_prefix"]

        self.ops_topic = sns.Topic(
            self,
            "OpsTopic",
            topic_name=names.resource_names(config.env)["ops_topic"],
            display_name=f"{names.SERVICE_NAME} {config.env} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        for sid, service, source_arn in (
            (
                "AllowCloudWatchAlarms",
                "cloudwatch.amazonaws.com",
                f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*",
            ),
            ("AllowBudgets", "budgets.amazonaws.com", f"arn:{Aws.PARTITION}:budgets::{Aws.ACCOUNT_ID}:*"),
        ):
            self.ops_topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.ops_topic.topic_arn],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                        "ArnLike": {"aws:SourceArn": source_arn},
                    },
                )
            )
        if config.alarm_email:
            self.ops_topic.add_subscription(subs.EmailSubscription(config.alarm_email))
        action = cw_actions.SnsAction(self.ops_topic)

        self.alarms: dict[str, cw.Alarm] = {}
        self._send_rate, self._daily_quota = config.ses_max_send_rate, config.ses_daily_quota

        def alarm(name: str, metric: cw.IMetric, threshold: float, description: str) -> None:
            created = cw.Alarm(
                self,
                "".join(part.capitalize() for part in name.split("-")) + "Alarm",
                alarm_name=f"{prefix}-{name}",
                alarm_description=f"{description} See docs/RUNBOOK.md#{name.lower()}.",
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                # No data (no orders, no SES traffic) is not a problem.
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(action)
            self.alarms[name] = created

        # SES reviews an account at 5% bounces / 0.1% complaints and may pause it at 10% / 0.5%.
        alarm(
            "ses-bounce-rate",
            ses_metric("Reputation.BounceRate", "Maximum", 15),
            config.bounce_rate_threshold,
            "SES account bounce rate at or above the threshold.",
        )
        alarm(
            "ses-complaint-rate",
            ses_metric("Reputation.ComplaintRate", "Maximum", 15),
            config.complaint_rate_threshold,
            "SES account complaint rate at or above the threshold.",
        )
        alarm(
            "execution-failures",
            state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            1,
            "Order executions failed (each failure is retried by SQS, then dead-lettered).",
        )
        # Not an execution-latency alarm: paced sends wait for their second by design during a peak
        # (docs/PACING.md); a backlog that does not drain shows as orders-oldest-message.
        alarm(
            "ses-daily-quota",
            ses_metric("Send", "Sum", 24 * 60),
            round(QUOTA_ALARM_SHARE * config.ses_daily_quota),
            f"SES sends over the last day reached {QUOTA_ALARM_SHARE:.0%} of the daily quota "
            f"({config.ses_daily_quota:,}, context sesDailyQuota); past it orders wait in the queue.",
        )
        for short, dlq in dead_letter_queues.items():
            alarm(
                f"{short}-dlq-not-empty",
                dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                1,
                f"Messages are waiting in the {short} dead-letter queue.",
            )
        alarm(
            "orders-oldest-message",
            orders_queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            OLDEST_MESSAGE_ALARM_SECONDS,
            "The oldest order in the queue has waited too long (Pipe stopped or workflow failing).",
        )
        for short, fn in functions.items():
            if short in UNALARMED_FUNCTIONS:
                continue
            alarm(
                f"{short}-errors",
                fn.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                FUNCTION_ERROR_THRESHOLDS.get(short, 1),
                f"The {short} function reported errors.",
            )

        self.dashboard = self._dashboard(
            name=infra["dashboard"],
            orders_topic=orders_topic,
            orders_queue=orders_queue,
            dead_letter_queues=dead_letter_queues,
            state_machine=state_machine,
            functions=functions,
        )
        self.dashboard_url = (
            f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={infra['dashboard']}"
        )
        self.budget = self._budget(config=config, name=infra["budget"])

    def _dashboard(
        self,
        *,
        name: str,
        orders_topic: sns.ITopic | None,
        orders_queue: sqs.IQueue,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
    ) -> cw.Dashboard:
        five = Duration.minutes(5)

        def graph(
            title: str, metrics: Sequence[cw.IMetric], right: Sequence[cw.IMetric] = ()
        ) -> cw.GraphWidget:
            return cw.GraphWidget(title=title, left=list(metrics), right=list(right), width=12, height=6)

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=name, default_interval=Duration.hours(24))
        dashboard.add_widgets(
            graph(
                "Orders published",
                # Without the stack's topic (context ordersQueueArn), what reaches the shop's queue.
                [orders_topic.metric_number_of_messages_published(period=five)]
                if orders_topic
                else [orders_queue.metric_number_of_messages_sent(period=five)],
            ),
            graph(
                "Executions",
                [
                    state_machine.metric_succeeded(period=five, label="succeeded"),
                    state_machine.metric_failed(period=five, label="failed"),
                    state_machine.metric_timed_out(period=five, label="timed out"),
                ],
            ),
        )
        dashboard.add_widgets(
            graph(
                "SES sends, deliveries, bounces, complaints",
                [ses_metric(m) for m in ("Send", "Delivery", "Bounce", "Complaint")],
            ),
            graph(
                "SES reputation (rates)",
                [
                    ses_metric("Reputation.BounceRate", "Maximum", 60),
                    ses_metric("Reputation.ComplaintRate", "Maximum", 60),
                ],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Dead-letter queue depth",
                [
                    dlq.metric_approximate_number_of_messages_visible(
                        period=five, statistic="Maximum", label=short
                    )
                    for short, dlq in dead_letter_queues.items()
                ],
            ),
            graph(
                "Orders queue: oldest message age (s) / visible",
                [orders_queue.metric_approximate_age_of_oldest_message(period=five, statistic="Maximum")],
                [
                    orders_queue.metric_approximate_number_of_messages_visible(
                        period=five, statistic="Maximum"
                    )
                ],
            ),
        )
        sends_per_minute = ses_metric("Send", "Sum", 1)
        dashboard.add_widgets(
            cw.GraphWidget(
                title="SES send rate (mails/s) against sesMaxSendRate",
                left=[cw.MathExpression(expression="m / 60", using_metrics={"m": sends_per_minute},
                                        label="mails/s (1-minute mean)", period=Duration.minutes(1))],
                left_annotations=[cw.HorizontalAnnotation(value=self._send_rate, label="sesMaxSendRate")],
                width=12, height=6,
            ),
            cw.GraphWidget(
                title="SES daily quota use (sends per day)",
                left=[ses_metric("Send", "Sum", 24 * 60)],
                left_annotations=[
                    cw.HorizontalAnnotation(value=self._daily_quota, label="sesDailyQuota"),
                    cw.HorizontalAnnotation(value=QUOTA_ALARM_SHARE * self._daily_quota, label="alarm"),
                ],
                width=12, height=6,
            ),
        )
        dashboard.add_widgets(
            graph(
                "Execution latency (ms)",
                [
                    state_machine.metric_time(period=five, statistic="p50", label="p50"),
                    state_machine.metric_time(period=five, statistic="p99", label="p99"),
                ],
            ),
            graph(
                "Lambda errors",
                [fn.metric_errors(period=five, label=short) for short, fn in functions.items()],
            ),
        )
        return dashboard

    def _budget(self, *, config: OrderMailConfig, name: str) -> budgets.CfnBudget:
        """Monthly cost of resources tagged Service=ordermail (activate the tag for cost allocation)."""

        def notify(kind: str, percent: int) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
            return budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[
                    budgets.CfnBudget.SubscriberProperty(
                        subscription_type="SNS", address=self.ops_topic.topic_arn
                    )
                ],
            )

        budget = budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=float(config.monthly_budget_usd), unit="USD"
                ),
                cost_filters={"TagKeyValue": [f"user:{names.COST_ALLOCATION_TAG}${names.SERVICE_NAME}"]},
            ),
            notifications_with_subscribers=[
                notify("ACTUAL", BUDGET_ACTUAL_PERCENT),
                notify("FORECASTED", BUDGET_FORECAST_PERCENT),
            ],
        )
        # Budgets checks the topic policy when the notification is created.
        budget.node.add_dependency(self.ops_topic.node.find_child("Policy"))
        return budget
