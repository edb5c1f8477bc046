"""The stack as the CLI sees it, on moto: a CloudFormation stack whose Outputs name a real ledger
table (with the GSIs of docs/LEDGER.md), the orders topic, the orders queue (subscribed with raw
delivery, as deployed) and its DLQ. Ledger items are shaped as docs/LEDGER.md describes."""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from moto import mock_aws

from ordermail.cli import main as cli_main
from ordermail.emulator.provision import ledger_table_request
from tasks import names
from tasks.domain.ledger_codec import event_key_digest, pack_request

ENV = "dev"
# Not us-east-1: an embedded runtime another test module keeps alive in this process (xdist mixes
# modules on a worker) lives there, and nested moto mocks share backends.
REGION = "eu-west-1"
ACCOUNT = "123456789012"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ordermail-dev-order-email"


def execution_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:express:ordermail-dev-order-email:{name}:0b6c1f5e-{name}"


def order_body(order_id: str, email: str = "success@simulator.amazonses.com") -> str:
    return json.dumps({
        "orderId": order_id, "customerEmail": email, "customerName": "Zoë",
        "items": [{"name": "Mug ☕", "quantity": 2, "unitPrice": "12.50"}], "total": "25.00",
        "currency": "USD", "timestamp": "2026-03-14T09:26:53Z", "metadata": {},
    }, ensure_ascii=False)


def iso_ago(seconds: float) -> str:
    moment = time.time() - seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}Z"


def ledger_item(order_id: str, status: str, *, updated_ago: float = 60, lease_in: float | None = None,
                **extra: Any) -> dict[str, Any]:
    """A ledger item as the workflow and the feedback processor leave it (docs/LEDGER.md)."""
    started, ended = iso_ago(updated_ago + 5), iso_ago(updated_ago + 4)
    arn = execution_arn(f"{order_id}-1")
    name = arn.split(":")[7]
    item: dict[str, Any] = {
        "orderId": order_id,
        "status": status,
        "updatedAt": iso_ago(updated_ago),
        "deliverTo": "success@simulator.amazonses.com",
        "payloadHash": "ab" * 16,
        "request": base64.b64decode(pack_request(order_body(order_id))),
        "attemptCount": 1,
        "duplicateCount": 0,
        "version": 3,
        "expiresAt": int(time.time()) + 90 * 86400,
        "timeline": [{"type": "ATTEMPT_STARTED", "at": started, "execution": name, "receiveCount": "1"}],
        "events": [],
    }
    if status in names.LEDGER_LISTED_STATUSES:
        item["listedStatus"] = status
    if status == "PROCESSING":
        item["leaseUntil"] = int(time.time() + (lease_in if lease_in is not None else 300))
        item["claimToken"] = name
    elif status == "FAILED":
        item.update(lastError="SesV2.MessageRejectedException", lastCause="Email address is not verified.",
                    failedAt=ended)
        item["timeline"].append({"type": "ATTEMPT_FAILED", "at": ended, "execution": name, "executionArn": arn,
                                 "error": "SesV2.MessageRejectedException", "cause": "Email address is not verified.",
                                 "retryable": False})
    elif status == "INVALID":
        item.update(invalidReason="total_mismatch", invalidMessage="total: 3.00 does not equal the sum of the items",
                    attemptCount=0, invalidCount=1, request=order_body(order_id))
        item["timeline"] = [{"type": "INVALID", "at": started, "executionArn": arn, "reason": "total_mismatch",
                             "message": "total: 3.00 does not equal the sum of the items"}]
    elif status in names.LEDGER_SENT_STATUSES:
        item["timeline"].append({"type": "ATTEMPT_SENT", "at": ended, "execution": name,
                                 "sesMessageId": f"0100-{order_id}-ses"})
        events = {"DELIVERED": ["Delivery"], "BOUNCED": ["Bounce"],
                  "COMPLAINED": ["Delivery", "Complaint"]}.get(status, [])
        for number, kind in enumerate(events):
            event: dict[str, Any] = {"type": kind, "at": iso_ago(updated_ago + 3 - number), "mail": 1}
            if kind == "Bounce":
                event.update(bounceType="Permanent", bounceSubType="General",
                             diagnosticCode="smtp; 550 5.1.1 user unknown")
            if kind == "Complaint":
                event.update(complaintFeedbackType="abuse")
            item["events"].append(event)
            item.setdefault("eventKeys", set()).add(event_key_digest(f"{kind}-{order_id}"))
    item.update(extra)
    return item


@dataclass
class Stack:
    outputs: dict[str, str]
    dynamodb: Any
    sqs: Any
    sns: Any

    @property
    def table(self) -> str:
        return self.outputs["LedgerTableName"]

    def put(self, item: dict[str, Any]) -> dict[str, Any]:
        serializer = TypeSerializer()
        self.dynamodb.put_item(TableName=self.table, Item={k: serializer.serialize(v) for k, v in item.items()})
        return item

    def messages(self, queue_key: str = "OrdersQueueUrl", max_wait: int = 0) -> list[dict[str, Any]]:
        """Everything on the queue (received once, left invisible: each test has its own stack)."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.outputs[queue_key], MaxNumberOfMessages=10,
                                             WaitTimeSeconds=max_wait, MessageAttributeNames=["All"],
                                             VisibilityTimeout=300).get("Messages", [])
            if not batch:
                return found
            found.extend(batch)


TEMPLATE_RESOURCE = {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}


def create_stack(env: str = ENV) -> Stack:
    resources = names.resource_names(env)
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(**ledger_table_request(resources["ledger_table"]))
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName=resources["orders_dlq"])["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=resources["orders_queue"], Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    })["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=resources["orders_topic"])["TopicArn"]
    events_topic = sns.create_topic(Name=resources["ses_events_topic"])["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True, Attributes={
        "RawMessageDelivery": "true",
        "FilterPolicy": json.dumps({names.ORDER_EVENT_TYPE_ATTRIBUTE: [names.ORDER_EVENT_TYPE]}),
    })
    outputs = {
        "OrdersTopicArn": topic,
        "SesEventsTopicArn": events_topic,
        "LedgerTableName": resources["ledger_table"],
        "StateMachineArn": MACHINE,
        "OrdersQueueUrl": queue_url,
        "DeadLetterQueueUrl": dlq_url,
        "StatusApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/prod/",
        "DashboardUrl": "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=ordermail-dev",
    }
    template = {"Resources": TEMPLATE_RESOURCE,
                "Outputs": {key: {"Value": value} for key, value in outputs.items()}}
    with warnings.catch_warnings():  # moto notes that the marker resource is not modelled: expected
        warnings.simplefilter("ignore", UserWarning)
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=names.stack_name(env), TemplateBody=json.dumps(template))
    return Stack(outputs=outputs, dynamodb=ddb, sqs=sqs, sns=sns)


def main(argv: list[str]) -> int:
    """`ordermail ...` against this module's region."""
    return cli_main(["--region", REGION, *argv])


def _delete_everything() -> None:
    """A nested mock (see REGION) keeps its data on exit: leave the region empty for the next test."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    for summary in cfn.list_stacks().get("StackSummaries", []):
        if summary["StackStatus"] != "DELETE_COMPLETE":
            cfn.delete_stack(StackName=summary["StackName"])
    ddb = boto3.client("dynamodb", region_name=REGION)
    for table in ddb.list_tables().get("TableNames", []):
        ddb.delete_table(TableName=table)
    sqs = boto3.client("sqs", region_name=REGION)
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    sns = boto3.client("sns", region_name=REGION)
    for topic in sns.list_topics().get("Topics", []):
        sns.delete_topic(TopicArn=topic["TopicArn"])


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        try:
            yield
        finally:
            _delete_everything()


@pytest.fixture
def stack(aws: None) -> Stack:
    return create_stack()
