"""Mutation tests: remove one needed grant from the synthesized template, start the runtime on it,
and find the access-denied failure where it shows on AWS (the ledger's lastError/lastCause, the
DLQ, a handler's ClientError, an HTTP 502, a lost delivery). Mutations whose failures cannot
interfere share a runtime (each start costs ~2 s)."""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.iam.template import synthesized_template
from tests.integration.conftest import Harness, make_order, signed_get

ACCOUNT = "123456789012"
LEDGER = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ordermail-dev-ledger"


def _resources(template: dict[str, Any], kind: str, logical_prefix: str) -> list[dict[str, Any]]:
    found = [r["Properties"] for lg, r in template["Resources"].items()
             if r["Type"] == kind and lg.startswith(logical_prefix)]
    assert len(found) == 1, (kind, logical_prefix, len(found))
    return found


def drop_action(template: dict[str, Any], policy_prefix: str, action: str) -> None:
    """Remove `action` from the role policy (statements left with no action go)."""
    (policy,) = _resources(template, "AWS::IAM::Policy", policy_prefix)
    kept = []
    for statement in policy["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        remaining = [a for a in actions if a != action]
        if remaining:
            kept.append({**statement, "Action": remaining})
    assert kept != policy["PolicyDocument"]["Statement"], f"{action} is not granted by {policy_prefix}"
    policy["PolicyDocument"]["Statement"] = kept


def drop_resource(template: dict[str, Any], policy_prefix: str, sid: str, keep: Callable[[Any], bool]) -> None:
    (policy,) = _resources(template, "AWS::IAM::Policy", policy_prefix)
    (statement,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
    before = statement["Resource"]
    statement["Resource"] = [r for r in before if keep(r)]
    assert len(statement["Resource"]) == len(before) - 1


def drop_statement(template: dict[str, Any], kind: str, prefix: str, match: Callable[[dict[str, Any]], bool]) -> None:
    (policy,) = _resources(template, kind, prefix)
    statements = policy["PolicyDocument"]["Statement"]
    policy["PolicyDocument"]["Statement"] = [s for s in statements if not match(s)]
    assert len(policy["PolicyDocument"]["Statement"]) == len(statements) - 1


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesized_template("dev")


def _start(tmp: Path, mutated: dict[str, Any]) -> LocalRuntime:
    runtime = LocalRuntime(RuntimeOptions(outbox_dir=tmp, time_scale=0.005, max_receive_count=2, iam_template=mutated))
    runtime.start()
    return runtime


def _until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


# --- the state machine role (ses:SendEmail on the configuration set) and the status API role ------


class TestStateMachineAndStatusApiRoles:
    """ses:SendEmail without the configuration set (state machine role); no BatchGetItem (status API role)."""

    @pytest.fixture(scope="class")
    def send_and_status_mutated(self, template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
        mutated = copy.deepcopy(template)
        # CDK's grantSendEmail would leave out the configuration set: the mistake this catches.
        drop_resource(mutated, "WorkflowStateMachineRoleDefaultPolicy", "SendFromConfiguredAddress",
                      keep=lambda r: "configuration-set" not in json.dumps(r))
        drop_action(mutated, "StatusApiHandlerRoleDefaultPolicy", "dynamodb:BatchGetItem")
        for resource in mutated["Resources"].values():  # GET /orders/{orderId} left without IAM auth
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::ApiGateway::Method" and "method.request.path.orderId" in props.get(
                    "RequestParameters", {}):
                props["AuthorizationType"] = "NONE"
        runtime = _start(tmp_path_factory.mktemp("outbox"), mutated)
        try:
            yield Harness(runtime)
        finally:
            runtime.stop()


    def test_send_without_the_configuration_set_grant_fails_into_the_ledger(self, send_and_status_mutated: Harness) -> None:
        harness = send_and_status_mutated
        order = make_order()
        harness.publish(order)
        item = _until(lambda: (i := harness.item(order["orderId"])) and i.get("status") == "FAILED" and i)
        assert item["lastError"] == "SesV2.SesV2Exception"  # AccessDeniedException is not in the SESv2 model
        session = harness.runtime.iam.principals.state_machine.caller  # type: ignore[union-attr]
        assert item["lastCause"].startswith(
            f"User: {session} is not authorized to perform: ses:SendEmail on resource: "
            f"arn:aws:ses:us-east-1:{ACCOUNT}:configuration-set/ordermail-dev-events "
            "because no identity-based policy allows the ses:SendEmail action (Service: SesV2, Status Code: 403"
        )
        assert harness.mails_for(order["orderId"]) == []


    def test_status_listing_without_batch_get_answers_502(self, send_and_status_mutated: Harness) -> None:
        harness = send_and_status_mutated
        order = make_order()
        harness.publish(order)
        _until(lambda: (i := harness.item(order["orderId"])) and i.get("status") == "FAILED")
        base = harness.outputs["StatusApiUrl"]
        with signed_get(f"{base}/orders/{order['orderId']}") as one:  # GetItem is still granted
            assert json.loads(one.read())["status"] == "FAILED"
        with pytest.raises(urllib.error.HTTPError) as listing:
            signed_get(f"{base}/orders?status=FAILED&since=1h")
        assert listing.value.code == 502
        denied = harness.runtime.iam.usage.denied()  # type: ignore[union-attr]
        assert denied["function:ordermail-dev-status-api"] == [("dynamodb:BatchGetItem", LEDGER)]

    def test_a_method_without_iam_auth_answers_unsigned_requests(self, send_and_status_mutated: Harness) -> None:
        base = send_and_status_mutated.outputs["StatusApiUrl"]
        with pytest.raises(urllib.error.HTTPError) as open_method:  # reaches the function: 404
            urllib.request.urlopen(f"{base}/orders/nope", timeout=10)
        assert open_method.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as iam_method:  # GET /orders still requires SigV4
            urllib.request.urlopen(f"{base}/orders?status=FAILED", timeout=10)
        assert iam_method.value.code == 403


# --- the Pipe role, the orders queue policy, the feedback role -------------------------------------


class TestPipeQueuePolicyAndFeedbackRoles:
    """No StartSyncExecution (Pipe role); no SNS statement (orders queue policy); no UpdateItem (feedback role)."""

    @pytest.fixture(scope="class")
    def pipe_mutated(self, template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
        mutated = copy.deepcopy(template)
        drop_action(mutated, "PipeRoleDefaultPolicy", "states:StartSyncExecution")
        drop_statement(mutated, "AWS::SQS::QueuePolicy", "IngressOrdersQueuePolicy",
                       lambda s: s.get("Sid") == "AllowOrdersTopic")
        drop_action(mutated, "FeedbackProcessorRoleDefaultPolicy", "dynamodb:UpdateItem")
        runtime = _start(tmp_path_factory.mktemp("outbox"), mutated)
        try:
            yield Harness(runtime)
        finally:
            runtime.stop()


    def test_pipe_without_start_sync_execution_dead_letters_the_order(self, pipe_mutated: Harness) -> None:
        harness = pipe_mutated
        body = json.dumps(make_order())
        harness.enqueue(body)  # straight onto the queue: the SNS delivery is refused in this runtime
        assert _until(lambda: body in harness.dlq_bodies(), timeout=30)
        poller = harness.runtime._poller
        assert poller is not None and poller.denied_starts >= 2  # one per receive, maxReceiveCount 2
        assert "is not authorized to perform: states:StartSyncExecution on resource: " \
               f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:ordermail-dev-order-email" in poller.last_denial
        assert harness.item(json.loads(body)["orderId"]) is None  # no execution ever ran


    def test_sns_delivery_without_the_queue_policy_is_lost(self, pipe_mutated: Harness) -> None:
        harness = pipe_mutated
        order = make_order()
        harness.publish(order)  # SNS accepts the publish; its delivery to the queue is refused
        denied = harness.runtime.iam.usage.denied()  # type: ignore[union-attr]
        assert ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:ordermail-dev-orders") in denied["sns.amazonaws.com"]
        assert not any(order["orderId"] in b for b in harness.dlq_bodies())


    def test_feedback_without_update_item_gets_the_client_error(
        self, pipe_mutated: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        harness = pipe_mutated
        order_id = make_order()["orderId"]
        harness.ddb.put_item(TableName=harness.outputs["LedgerTableName"], Item={
            "orderId": {"S": order_id}, "status": {"S": "SENT"}, "sesMessageId": {"S": "m-1"}})
        event = {"eventType": "Delivery", "mail": {"messageId": "m-1", "timestamp": "2026-11-23T10:00:00.000Z",
                                                   "tags": {"orderId": [order_id]}, "destination": ["x@example.com"]},
                 "delivery": {"timestamp": "2026-11-23T10:00:01.000Z", "recipients": ["x@example.com"]}}
        sns_event = {"Records": [{"EventSource": "aws:sns", "Sns": {
            "Message": json.dumps(event), "TopicArn": harness.outputs["SesEventsTopicArn"]}}]}
        response = harness.runtime.client("lambda").invoke(FunctionName="ordermail-dev-feedback",
                                                           Payload=json.dumps(sns_event).encode())
        # The handler logs the boto3 ClientError and fails the invocation so Lambda retries the event.
        assert response.get("FunctionError") and json.loads(response["Payload"].read())["errorType"] == "FeedbackRetry"
        logged = "\n".join(r.exc_text or "" for r in caplog.records if r.name == "ordermail")
        role = harness.runtime.iam.principals.functions["ordermail-dev-feedback"].arn.rsplit("/", 1)[-1]  # type: ignore[union-attr]
        assert (
            "botocore.exceptions.ClientError: An error occurred (AccessDeniedException) when calling the UpdateItem "
            f"operation: User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ordermail-dev-feedback is not authorized "
            f"to perform: dynamodb:UpdateItem on resource: {LEDGER} because no identity-based policy allows the "
            "dynamodb:UpdateItem action"
        ) in logged
        assert (harness.item(order_id) or {}).get("status") == "SENT"


# --- the SES events topic policy --------------------------------------------------------------------


def test_ses_events_without_the_topic_policy_never_reach_the_ledger(
    template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    mutated = copy.deepcopy(template)
    drop_statement(mutated, "AWS::SNS::TopicPolicy", "EmailSesEventsTopicPolicy",
                   lambda s: s.get("Principal") == {"Service": "ses.amazonaws.com"})
    runtime = _start(tmp_path_factory.mktemp("outbox"), mutated)
    try:
        harness = Harness(runtime)
        order = make_order()
        harness.publish(order)
        harness.settle()
        item = harness.item(order["orderId"]) or {}
        assert item.get("status") == "SENT" and not item.get("events")  # no Delivery ever arrived
        assert runtime.feedback_delivery()["ses_events_unpublished"] >= 1
        denied = runtime.iam.usage.denied()  # type: ignore[union-attr]
        assert denied["ses.amazonaws.com"] == [("sns:Publish", harness.outputs["SesEventsTopicArn"])]
    finally:
        runtime.stop()


def test_render_without_invoke_permission_fails_into_the_ledger(
    template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    mutated = copy.deepcopy(template)
    drop_resource(mutated, "WorkflowStateMachineRoleDefaultPolicy", "InvokeTasks",
                  keep=lambda r: "Render" not in json.dumps(r))
    runtime = _start(tmp_path_factory.mktemp("outbox"), mutated)
    try:
        harness = Harness(runtime)
        order = make_order()
        harness.publish(order)
        item = _until(lambda: (i := harness.item(order["orderId"])) and i.get("status") == "FAILED" and i)
        # Lambda's AccessDeniedException is not in the SDK's model: Step Functions names it after the
        # SDK's generic exception, and the cause keeps the real error code.
        assert item["lastError"] == "Lambda.AWSLambdaException"
        assert item["lastCause"].startswith(
            f"User: {runtime.iam.principals.state_machine.caller} is not authorized to perform: "  # type: ignore[union-attr]
            f"lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:{ACCOUNT}:function:ordermail-dev-render "
            "because no identity-based policy allows the lambda:InvokeFunction action "
            "(Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException;"
        )
    finally:
        runtime.stop()
