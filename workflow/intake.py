"""The other ways in: a signed HTTP POST and EventBridge events, both ending in the orders queue.

HTTP: a REST API (IAM auth) whose POST publishes the body straight to the orders topic through an
AWS service integration (no Lambda), with the same eventType attribute an SNS publisher sets, so
the subscription filter, the queue and the workflow treat it exactly like an SNS order.

EventBridge: a rule for detail-type OrderConfirmed whose target is the orders queue, with the
event's `detail` (the order) as the message body: the same body raw SNS delivery leaves in the
queue, so the Pipe and the state machine need no second format.
"""

from __future__ import annotations

import json

from aws_cdk import Aws
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tasks import intake, names
from workflow.context import OrderMailConfig
from workflow.encryption import ENVELOPE_ACTIONS
from workflow.functions import log_group
from workflow.nag import acknowledge
from workflow.status_api import IAM_ONLY_REASON

JSON = "application/json"
PUBLISHER_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"]  # publish to a KMS-encrypted topic
# SNS's Query API answers in JSON when asked to: the 202 template reads the MessageId from it.
PUBLISH_TEMPLATE = (
    "Action=Publish&TopicArn=$util.urlEncode('{topic_arn}')&Message=$util.urlEncode($input.body)"
    f"&MessageAttributes.entry.1.Name={names.ORDER_EVENT_TYPE_ATTRIBUTE}"
    "&MessageAttributes.entry.1.Value.DataType=String"
    f"&MessageAttributes.entry.1.Value.StringValue={names.ORDER_EVENT_TYPE}"
)
ACCEPTED_TEMPLATE = '{"messageId": "$input.path(\'$.PublishResponse.PublishResult.MessageId\')"}'
# SNS answers 400 for a message over its size limit (or otherwise malformed): nothing is published.
REJECTED_TEMPLATE = json.dumps({"message": intake.REJECTED_MESSAGE})
FAILED_TEMPLATE = json.dumps({"message": intake.FAILED_MESSAGE})


class OrdersApi(Construct):
    """`api` (RestApi, POST / only), `role` (the integration's), `access_log_group`; `url` to POST to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        infra = names.infra_names(config.env)
        self.role = iam.Role(
            self,
            "PublishRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="orders API -> sns:Publish on the orders topic",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="PublishOrders", actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        # The topic is encrypted with the stack's key: SNS checks the publisher's right to it.
        # Exact actions (no GenerateDataKey*): roles get no wildcard actions (tests/infra/test_iam.py).
        self.role.add_to_policy(
            iam.PolicyStatement(sid="EncryptOrders", actions=PUBLISHER_KEY_ACTIONS, resources=[key.key_arn])
        )

        self.access_log_group = log_group(
            self, "AccessLogs", config=config, name=infra["orders_api_access_log_group"]
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=infra["orders_api"],
            description=f"{names.SERVICE_NAME} {config.env}: orders in over signed HTTP (IAM auth)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-level CloudWatch role is the status API's (one per account and region).
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=config.env,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                # Standard fields only: no body, so no customer address reaches the logs.
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
                data_trace_enabled=False,  # full request logging would put the order (PII) in logs
                throttling_rate_limit=config.orders_api_rate_limit,
                throttling_burst_limit=config.orders_api_burst_limit,
            ),
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
        )
        self.api.node.try_remove_child("Endpoint")  # the stack's outputs are a fixed contract
        # A body the validator refuses gets a JSON message saying what is wrong.
        self.api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={JSON: '{"message": "' + intake.BAD_BODY_MESSAGE + ': $context.error.validationErrorString"}'},
        )
        model = self.api.add_model(
            "OrderModel",
            content_type=JSON,
            model_name="Order",
            schema=_json_schema(intake.ORDER_BODY_SCHEMA),
        )
        # Parameters too (there are none to check): cdk-nag's APIG2 wants both switched on.
        validator = self.api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.AwsIntegration(
            service="sns",
            action="Publish",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=self.role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_parameters={
                    "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
                    "integration.request.header.Accept": f"'{JSON}'",
                },
                request_templates={JSON: PUBLISH_TEMPLATE.format(topic_arn=topic.topic_arn)},
                integration_responses=[
                    apigw.IntegrationResponse(status_code="202", response_templates={JSON: ACCEPTED_TEMPLATE}),
                    # SNS's 400 is the caller's (too large, malformed); any other error is ours, and
                    # an SNS 403 (the role lost its grant) must not read as the caller's fault.
                    apigw.IntegrationResponse(
                        status_code="400", selection_pattern="400", response_templates={JSON: REJECTED_TEMPLATE}
                    ),
                    apigw.IntegrationResponse(
                        status_code="502",
                        selection_pattern=r"40[1-9]|4[1-9]\d|5\d{2}",
                        response_templates={JSON: FAILED_TEMPLATE},
                    ),
                ],
            ),
        )
        self.api.root.add_method(
            "POST",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={JSON: model},
            method_responses=[
                apigw.MethodResponse(status_code=code, response_models={JSON: apigw.Model.EMPTY_MODEL})
                for code in ("202", "400", "502")
            ],
        )
        acknowledge(self.api, "AwsSolutions-COG4", IAM_ONLY_REASON)
        acknowledge(
            self.api,
            "AwsSolutions-APIG3",
            "No WAF: IAM (SigV4) auth rejects unsigned requests before integration, the stage is "
            "throttled (context ordersApiRateLimit/ordersApiBurstLimit), and a web ACL would cost "
            "more than the whole workload.",
        )

    @property
    def url(self) -> str:
        """The URL to POST an order to (the stage root)."""
        return self.api.url


def _json_schema(schema: dict[str, object]) -> apigw.JsonSchema:
    """ORDER_BODY_SCHEMA as the CDK type (the draft-4 subset it uses)."""
    properties = schema["properties"]
    assert isinstance(properties, dict)
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title=str(schema["title"]),
        type=apigw.JsonSchemaType.OBJECT,
        required=list(schema["required"]),  # type: ignore[call-overload]
        properties={
            name: apigw.JsonSchema(type=apigw.JsonSchemaType(spec["type"].upper()))
            for name, spec in properties.items()
        },
    )


class OrdersEventRule(Construct):
    """`bus` (created, or the existing one named by context ordersEventBusName) and `rule` → orders queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrderMailConfig,
        queue: sqs.IQueue,
        key: kms.Key,
    ) -> None:
        super().__init__(scope, construct_id)
        infra = names.infra_names(config.env)
        if config.orders_event_bus_name:
            self.bus: events.IEventBus = events.EventBus.from_event_bus_name(
                self, "Bus", config.orders_event_bus_name
            )
            bus_name = config.orders_event_bus_name
        else:
            bus_name = infra["orders_event_bus"]
            self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        pattern = events.EventPattern(
            detail_type=[names.ORDER_EVENT_TYPE],
            source=list(config.orders_event_sources) or None,
        )
        rule_name = infra["orders_event_rule"]
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            description="OrderConfirmed events -> orders queue (body: the event's detail)",
            event_bus=self.bus,
            event_pattern=pattern,
        )
        # The detail alone: the same body raw SNS delivery leaves in the queue. Set on the L1 rule:
        # targets.SqsQueue would also grant sqs:GetQueueAttributes/GetQueueUrl to any rule of the
        # account (aws:SourceAccount); this rule needs SendMessage only.
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.targets = [
            events.CfnRule.TargetProperty(arn=queue.queue_arn, id="OrdersQueue", input_path="$.detail")
        ]
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowOrderEventsRule",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )
        # The queue is encrypted: EventBridge needs the key, for this rule only. The ARN is spelled
        # out: a reference would make the key depend on the rule, which depends on the queue and key.
        rule_path = rule_name if bus_name == "default" else f"{bus_name}/{rule_name}"
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToOrdersQueue",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=ENVELOPE_ACTIONS,
                resources=["*"],
                conditions={
                    "ArnEquals": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{rule_path}"
                    }
                },
            )
        )
        self.bus_name = self.bus.event_bus_name  # a Ref to the created bus: the output waits for it
