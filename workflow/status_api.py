"""The operators' HTTP view of the ledger: an IAM-authorized (SigV4) REST API.

GET /orders/{orderId}            one order: status, attempts, SES events
GET /orders?status=X&since=24h&limit=50   recent orders in a status (byStatus index)

REST API rather than HTTP API: per-method IAM auth, request validation, stage X-Ray tracing and
access logs in one place. The function may only read the table and its indexes.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig
from workflow.functions import TaskFunction, TaskPackage, function_limits, log_group
from workflow.ledger import Ledger
from workflow.nag import acknowledge

IAM_ONLY_REASON = (
    "Operators' API, authorized with IAM (SigV4) on every method: callers are AWS principals with "
    "an execute-api:Invoke policy, not end users of a Cognito user pool."
)


class StatusApi(Construct):
    """`api` (RestApi), `function` (TaskFunction), `access_log_group`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        package: TaskPackage,
        ledger: Ledger,
    ) -> None:
        super().__init__(scope, construct_id)
        infra = names.infra_names(config.env)
        self.function = TaskFunction(
            self,
            "Handler",
            config=config,
            package=package,
            function_name=names.resource_names(config.env)["status_api_function"],
            handler="tasks.status_api.handler",
            description="Read-only ledger view for operators",
            **function_limits("status_api_function"),
            environment=config.function_environment("status_api_function", ledger_table=ledger.table.table_name),
        )
        # Exactly what tasks/status_api.py calls: GetItem (one order) and BatchGetItem (the orders a
        # status query found) on the table, Query on the byStatus index only.
        self.function.role.add_to_policy(
            iam.PolicyStatement(
                sid="LedgerReadOrders",
                actions=["dynamodb:GetItem", "dynamodb:BatchGetItem"],
                resources=[ledger.table.table_arn],
            )
        )
        self.function.role.add_to_policy(
            iam.PolicyStatement(sid="LedgerByStatus", actions=["dynamodb:Query"], resources=[ledger.status_index_arn])
        )

        self.access_log_group = log_group(
            self, "AccessLogs", config=config, name=infra["status_api_access_log_group"]
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=infra["status_api"],
            description=f"{names.SERVICE_NAME} {config.env}: order status for operators (IAM auth)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logging need the account-level CloudWatch role in this region.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=config.env,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # full request/response logging would put PII in logs
                throttling_rate_limit=20,
                throttling_burst_limit=40,
            ),
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
        )
        # RestApi adds an "Endpoint" output of its own; the stack's outputs are a fixed contract.
        self.api.node.try_remove_child("Endpoint")
        validator = self.api.add_request_validator(
            "ParameterValidator", validate_request_parameters=True, validate_request_body=True
        )
        integration = apigw.LambdaIntegration(self.function.function, proxy=True)

        orders = self.api.root.add_resource("orders")
        orders.add_method(
            "GET",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_parameters={
                "method.request.querystring.status": False,
                "method.request.querystring.since": False,
                "method.request.querystring.limit": False,
            },
        )
        order = orders.add_resource("{orderId}")
        order.add_method(
            "GET",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_parameters={"method.request.path.orderId": True},
        )

        acknowledge(self.api, "AwsSolutions-COG4", IAM_ONLY_REASON)
        acknowledge(
            self.api,
            "AwsSolutions-APIG3",
            "No WAF: IAM (SigV4) auth rejects unsigned requests before integration, the stage is "
            "throttled (20 rps, burst 40), and a web ACL would cost more than the whole workload.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level CloudWatch role (needed for access and execution logs) "
            "uses the AWS-documented managed policy; it writes API Gateway's own log groups only.",
        )
