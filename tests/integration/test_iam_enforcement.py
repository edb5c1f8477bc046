"""IAM enforcement on the unmutated stack: every demo path runs with zero denials, and what the
policies refuse (plain http to a TLS-only topic, a foreign publisher, unsigned or unauthorized
status API callers, a handler's call its role does not grant) fails as AWS fails it."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from ordermail import samples
from ordermail.cli.aws import AwsContext
from ordermail.cli.commands.demo import _run_pipeline
from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.iam import enforce
from ordermail.emulator.iam.calls import Check
from tests.integration.conftest import signed_get

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    outbox: Path = tmp_path_factory.mktemp("outbox")
    with LocalRuntime(RuntimeOptions(outbox_dir=outbox, time_scale=0.005, max_receive_count=3)) as rt:
        yield rt


def test_every_demo_path_runs_under_enforcement_with_zero_denials(runtime: LocalRuntime) -> None:
    assert runtime.iam is not None, "IAM enforcement must be on by default"
    ctx = AwsContext(env="dev", endpoint_url=runtime.endpoint_url, region=runtime.region)
    items = _run_pipeline(runtime, ctx, lambda _text: None)
    assert {oid: item.get("status") for oid, item in items.items()} == {s.order_id: s.expect for s in samples.SAMPLES}
    with signed_get(f"{runtime.outputs['StatusApiUrl']}/orders?status=BOUNCED&since=1h") as response:
        listed = json.loads(response.read())
    assert "demo-1007" in {order["orderId"] for order in listed["orders"]}
    with signed_get(f"{runtime.outputs['StatusApiUrl']}/orders/demo-1007") as response:
        assert json.loads(response.read())["status"] == "BOUNCED"

    assert runtime.iam.usage.denied() == {}
    report = runtime.iam.report()
    used = {(label, row["action"]) for label, entry in report.items() for row in entry["grants"] if row["calls"]}
    assert ("function:ordermail-dev-status-api", "dynamodb:BatchGetItem") in used  # the grant that was missing
    assert ("state-machine", "ses:SendEmail") in used and ("pipe", "states:StartSyncExecution") in used
    by_policy = {(label, row["action"]) for label, entry in report.items() for row in entry["by_resource_policy"]}
    assert {("sns.amazonaws.com", "sqs:SendMessage"), ("sns.amazonaws.com", "lambda:InvokeFunction"),
            ("ses.amazonaws.com", "sns:Publish")} <= by_policy
    # Every grant of the workflow's own roles is used by some path, except what AWS itself needs
    # of them outside the runtime (logs, traces, a Pipe's GetQueueAttributes) and the feedback
    # function's failure-only path (its DLQ) and the workflow's wait-only one (Requeue: a spent quota,
    # a slot waited for too long; tests/integration/test_pacing.py runs it under enforcement).
    unused = {(label, row["action"]) for label, entry in report.items() for row in entry["grants"]
              if not row["calls"] and not row["note"]}
    assert unused == {
        ("function:ordermail-dev-feedback", "sqs:SendMessage"),
        ("function:ordermail-dev-feedback", "kms:Decrypt"),
        ("function:ordermail-dev-feedback", "kms:GenerateDataKey"),
        ("state-machine", "sqs:SendMessage"),
        ("state-machine", "kms:Decrypt"),
        ("state-machine", "kms:GenerateDataKey"),
    }


def test_plain_http_publish_is_refused_by_the_tls_only_topic_policy(runtime: LocalRuntime) -> None:
    # In-process, a client told to use http (not the runtime's own endpoint) is not over TLS.
    sns = boto3.client("sns", region_name=runtime.region, endpoint_url="http://sns.us-east-1.amazonaws.com")
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=runtime.outputs["OrdersTopicArn"], Message="{}")
    error = refused.value.response["Error"]
    assert (error["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthorizationError", 403)
    assert error["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: sns:Publish on resource: "
        f"{runtime.outputs['OrdersTopicArn']} with an explicit deny in a resource-based policy"
    )


def test_a_publisher_outside_the_configured_principals_is_refused(runtime: LocalRuntime) -> None:
    sts = runtime.client("sts")
    credentials = sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/someone-else", RoleSessionName="pub")[
        "Credentials"]
    sns = boto3.client("sns", region_name=runtime.region, aws_access_key_id=credentials["AccessKeyId"],
                       aws_secret_access_key=credentials["SecretAccessKey"],
                       aws_session_token=credentials["SessionToken"])
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=runtime.outputs["OrdersTopicArn"], Message="{}")
    assert refused.value.response["Error"]["Code"] == "AuthorizationError"
    assert "assumed-role/someone-else/pub is not authorized to perform: sns:Publish" in str(refused.value)


def test_status_api_iam_auth(runtime: LocalRuntime) -> None:
    base = runtime.outputs["StatusApiUrl"]
    iam = runtime.client("iam")
    iam.create_role(RoleName="operator-one-order", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="operator-one-order", PolicyName="one", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                        "Resource": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:*/*/GET/orders/*"}]}))
    credentials = runtime.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/operator-one-order", RoleSessionName="op")["Credentials"]
    keys = {"access_key": credentials["AccessKeyId"], "secret_key": credentials["SecretAccessKey"],
            "session_token": credentials["SessionToken"]}
    with pytest.raises(urllib.error.HTTPError) as missing:  # allowed: the function answers (404)
        signed_get(f"{base}/orders/nope", **keys)
    assert missing.value.code == 404, missing.value.read()
    with pytest.raises(urllib.error.HTTPError) as denied:
        signed_get(f"{base}/orders?status=FAILED", **keys)
    assert denied.value.code == 403
    assert json.loads(denied.value.read())["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/operator-one-order/op is not authorized to perform: "
        f"execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:{ACCOUNT}:{runtime.iam.rest_api_id}/dev/GET/orders "  # type: ignore[union-attr]
        "because no identity-based policy allows the execute-api:Invoke action"
    )


@pytest.mark.parametrize(
    ("service", "call", "code", "status", "action"),
    [
        ("dynamodb", lambda c: c.delete_item(TableName="ordermail-dev-ledger", Key={"orderId": {"S": "x"}}),
         "AccessDeniedException", 400, "dynamodb:DeleteItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/ordermail-dev-ledger"),
        ("sqs", lambda c: c.purge_queue(QueueUrl=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/ordermail-dev-orders"),
         "AccessDenied", 403, "sqs:PurgeQueue on resource: arn:aws:sqs:us-east-1:123456789012:ordermail-dev-orders"),
        ("lambda", lambda c: c.invoke(FunctionName="ordermail-dev-render", Payload=b"{}"),
         "AccessDeniedException", 403, "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:ordermail-dev-render"),
    ],
)
def test_a_handler_gets_the_services_access_denied_client_error(  # type: ignore[no-untyped-def]
    runtime: LocalRuntime, service, call, code, status, action
) -> None:
    assert runtime.iam is not None
    feedback = runtime.iam.principals.functions["ordermail-dev-feedback"]
    client = runtime.client(service)
    with enforce.acting_as(feedback), pytest.raises(ClientError) as denied:
        call(client)
    assert denied.value.response["Error"]["Code"] == code
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    role = feedback.arn.rsplit("/", 1)[-1]
    assert denied.value.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ordermail-dev-feedback is not authorized to perform: "
        f"{action} because no identity-based policy allows the {action.split(' ')[0]} action"
    )


def test_decisions_are_cached_and_the_seams_exist(runtime: LocalRuntime) -> None:
    for owner, attribute in enforce.SEAMS.values():
        assert attribute in vars(owner), (owner, attribute)
    assert runtime.iam is not None
    pipe = runtime.iam.principals.pipe
    check = Check("states:StartSyncExecution", runtime.outputs["StateMachineArn"])
    first = runtime.iam.decide(pipe, check)
    assert first.allowed and runtime.iam.decide(pipe, check) is first
