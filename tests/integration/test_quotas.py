"""Quotas AWS enforces, enforced by the local runtime with AWS's errors (ordermail/emulator/quotas.py):
Step Functions payloads and the Express time limit, SNS message size, the DynamoDB item size, the SES
account sandbox, its maximum send rate and daily quota (reported by GetAccount)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ordermail.emulator import LocalRuntime
from ordermail.emulator.quotas import EXPRESS_MAX_SECONDS, SesAccount, SesSendQuota
from tasks import names

from .conftest import Harness, make_order

SIMULATOR = f"success@{names.SES_SIMULATOR_DOMAIN}"


def _send(ses: Any, to: str, sender: str = "no-reply@shop.example") -> dict[str, Any]:
    return ses.send_email(  # type: ignore[no-any-return]
        FromEmailAddress=sender,
        Destination={"ToAddresses": [to]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
    )


def _no_retry_ses(runtime: LocalRuntime) -> Any:
    """SESv2 without SDK retries: boto3 retries 429 and LimitExceededException by itself; Step
    Functions' SDK integrations do not (the state's Retry does)."""
    import boto3
    from botocore.config import Config

    return boto3.client("sesv2", region_name=runtime.region, config=Config(retries={"total_max_attempts": 1}))


def _run(sfn: Any, arn: str, execution_input: str) -> dict[str, Any]:
    """StartExecution, then the execution once it ended (moto has no StartSyncExecution API)."""
    execution = sfn.start_execution(stateMachineArn=arn, input=execution_input)["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError("the execution did not end")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]



# --- SES: the account sandbox, GetAccount ------------------------------------------------------


def test_get_account_reports_the_sandbox_outside_prod_and_production_access_in_prod(make_runtime: Any) -> None:
    dev = make_runtime(env="dev").client("sesv2").get_account()
    assert dev["ProductionAccessEnabled"] is False
    assert dev["SendQuota"] == {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0}
    assert dev["SendingEnabled"] is True


def test_get_account_reports_the_configured_figures_over_the_loopback_endpoint(make_runtime: Any) -> None:
    import boto3

    runtime = make_runtime(env="prod", ses_max_send_rate=3, ses_daily_quota=7)
    # Over HTTP, as the CLI and any SDK reach the runtime (moto's server has no such route of its own).
    ses = boto3.client("sesv2", endpoint_url=runtime.endpoint_url, region_name="us-east-1")
    account = ses.get_account()
    assert account["ProductionAccessEnabled"] is True
    assert account["SendQuota"]["MaxSendRate"] == 3.0
    assert account["SendQuota"]["Max24HourSend"] == 7.0
    _send(ses, "anyone@example.com")
    assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 1.0


def test_sandbox_rejects_an_unverified_recipient_and_names_it(make_runtime: Any) -> None:
    ses = make_runtime(env="dev").client("sesv2")
    with pytest.raises(ClientError) as refused:
        _send(ses, "ana.silva@example.com")
    code, message, status = _error(refused)
    assert (code, status) == ("MessageRejected", 400)
    assert message == ("Email address is not verified. The following identities failed the check in region "
                       "US-EAST-1: ana.silva@example.com")
    # The mailbox simulator and an address of a verified domain may receive; a rejected mail was not counted.
    _send(ses, SIMULATOR)
    _send(ses, "Shop Team <team@shop.example>")
    assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 2.0


def test_production_access_sends_to_anyone(make_runtime: Any) -> None:
    ses = make_runtime(env="dev", ses_production_access=True).client("sesv2")
    assert "MessageId" in _send(ses, "ana.silva@example.com")


# --- SES: the send rate and the daily quota ----------------------------------------------------


def test_the_send_rate_answers_429_too_many_requests_then_admits_again(make_runtime: Any) -> None:
    # 1 mail/s on AWS's clock (time scale 1) with two seconds of burst: the third mail right after two
    # is refused, however slow the machine, unless a whole second passed in between; a second later it goes.
    ses = _no_retry_ses(make_runtime(env="prod", ses_max_send_rate=1, time_scale=1.0))
    _send(ses, "a@example.com")
    _send(ses, "c@example.com")  # a short burst above the rate passes (quotas.BURST_SECONDS)
    with pytest.raises(ClientError) as throttled:
        _send(ses, "b@example.com")
    assert _error(throttled) == ("TooManyRequestsException", "Maximum sending rate exceeded.", 429)
    time.sleep(1.1)
    _send(ses, "b@example.com")


def test_the_daily_quota_answers_limit_exceeded_until_the_window_moves_on(make_runtime: Any) -> None:
    # 24 hours on a clock at 0.00005 last 4.3 real seconds; the rate (14/s) never binds here.
    ses = _no_retry_ses(make_runtime(env="prod", ses_daily_quota=3, time_scale=0.00005))
    for n in range(3):
        _send(ses, f"r{n}@example.com")
    with pytest.raises(ClientError) as spent:
        _send(ses, "r3@example.com")
    assert _error(spent) == ("LimitExceededException", "Daily message quota exceeded.", 400)
    assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 3.0
    time.sleep(4.5)
    _send(ses, "r3@example.com")
    assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 1.0


def test_ses_counts_recipients_and_lets_a_call_through_while_any_quota_is_left() -> None:
    now = [0.0]
    quota = SesSendQuota(SesAccount(production_access=True, max_send_rate=1, max_24_hour_send=100),
                         time_scale=1.0, clock=lambda: now[0])
    quota.admit(5)  # two tokens (two seconds of burst): a mail to five goes through ...
    for seconds in (1.0, 2.0, 3.0):  # ... and the next three seconds are spent paying it back
        now[0] = seconds
        with pytest.raises(Exception, match="Maximum sending rate exceeded"):
            quota.admit(1)
    now[0] = 4.0
    quota.admit(1)
    assert quota.sent_last_24_hours() == 6
    assert quota.throttled == 3


def test_workflow_retries_the_rate_limit_and_sends_each_order_once(make_runtime: Any) -> None:
    # One mail per 200 s of the runtime's clock (2 real seconds at 0.01): however loaded the machine,
    # the Pipe's four workers reach Send well within 2 s of each other, so the rate binds. Send's
    # retrier, then redelivery, spread the six mails out; none may be lost or sent twice.
    runtime = make_runtime(env="dev", ses_max_send_rate=0.005, time_scale=0.01, max_receive_count=10)
    harness = Harness(runtime)
    orders = [make_order(email=SIMULATOR) for _ in range(6)]
    for order in orders:
        harness.publish(order)
    harness.settle(180)
    assert runtime.ses_quota.throttled > 0, "six concurrent orders at one mail per 2 s hit the rate"
    for order in orders:
        item = harness.item(order["orderId"])
        assert item is not None and item["status"] in ("SENT", "DELIVERED"), item
        assert len(harness.mails_for(order["orderId"])) == 1
    assert harness.dlq_bodies() == []


def test_the_spent_daily_quota_is_the_error_ses_returns_and_the_order_waits_for_it(make_runtime: Any) -> None:
    # The error is SES's; the workflow's answer (requeue until the quota allows) is test_pacing.py's.
    runtime = make_runtime(env="dev", ses_daily_quota=1, time_scale=0.005)
    harness = Harness(runtime)
    first, second = make_order(email=SIMULATOR), make_order(email=SIMULATOR)
    harness.publish(first)
    harness.settle(60)
    harness.publish(second)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "DEFERRED" not in harness.timeline_types(second["orderId"]):
        time.sleep(0.05)
    assert (harness.item(first["orderId"]) or {})["status"] in ("SENT", "DELIVERED")
    waiting = harness.item(second["orderId"]) or {}
    assert waiting["status"] == "PROCESSING" and "lastError" not in waiting
    assert runtime.ses_quota.over_quota >= 1
    assert harness.mails_for(second["orderId"]) == []


# --- Step Functions: payloads and the Express time limit ----------------------------------------


def test_an_execution_input_over_256_kb_is_refused(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev")
    sfn = runtime.client("stepfunctions")
    arn = runtime.outputs["StateMachineArn"]
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": "é" * 131_072}))  # 262,152 bytes
    code, message, _ = _error(refused)
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 262144" in message
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []


def test_an_order_the_pipe_cannot_start_ends_in_the_dlq(make_runtime: Any) -> None:
    # SNS takes 200 KB, but each quote is escaped twice on the way (the SQS record, the Pipe's JSON
    # array): the Pipe's input is over Step Functions' 256 KB, so every start is refused.
    runtime = make_runtime(env="dev", time_scale=0.005, max_receive_count=2)
    harness = Harness(runtime)
    order = make_order(metadata={"note": '"' * 100_000})
    harness.publish(order)
    harness.settle(60)
    assert runtime._poller is not None and runtime._poller.refused_starts == 2
    assert "262144" in runtime._poller.last_refusal
    assert [json.loads(body)["orderId"] for body in harness.dlq_bodies()] == [order["orderId"]]
    assert harness.item(order["orderId"]) is None


def test_a_state_output_over_256_kb_fails_with_states_data_limit_exceeded(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev")
    sfn = runtime.client("stepfunctions")
    definition = {"StartAt": "Big", "States": {"Big": {
        "Type": "Pass", "Parameters": {"a.$": "$.x", "b.$": "$.x"}, "End": True}}}
    arn = sfn.create_state_machine(name="quota-probe", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/quota-probe",
                                   type="EXPRESS")["stateMachineArn"]
    result = _run(sfn, arn, json.dumps({"x": "a" * 150_000}))
    assert result["status"] == "FAILED"
    assert result["error"] == "States.DataLimitExceeded"


def test_an_express_execution_times_out_after_five_minutes_of_the_runtime_clock(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev", time_scale=0.002)  # 5 minutes = 0.6 real seconds
    sfn = runtime.client("stepfunctions")
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 400, "Next": "Done"},
                                                "Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(name="slow-probe", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/quota-probe",
                                   type="EXPRESS")["stateMachineArn"]
    started = time.monotonic()
    result = _run(sfn, arn, "{}")  # the Wait is on the runtime's clock too: 400 s = 0.8 real seconds
    assert result["status"] == "TIMED_OUT"  # the Wait alone would have let it succeed after 0.8 s
    assert time.monotonic() - started >= EXPRESS_MAX_SECONDS * 0.002 * 0.9


# --- SNS and DynamoDB --------------------------------------------------------------------------


def test_sns_counts_bytes_and_attributes_against_256_kb(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev")
    sns, topic = runtime.client("sns"), runtime.outputs["OrdersTopicArn"]
    attributes = {names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}}
    overhead = len(names.ORDER_EVENT_TYPE_ATTRIBUTE) + len("String") + len(names.ORDER_EVENT_TYPE)
    sns.publish(TopicArn=topic, Message="a" * (262_144 - overhead), MessageAttributes=attributes)
    with pytest.raises(ClientError) as too_long:
        # 131,073 characters: moto alone would count characters and accept it; SNS counts 262,146 bytes.
        sns.publish(TopicArn=topic, Message="é" * 131_073)
    assert _error(too_long)[:2] == ("InvalidParameter", "Invalid parameter: Message too long")
    with pytest.raises(ClientError):
        sns.publish(TopicArn=topic, Message="a" * (262_145 - overhead), MessageAttributes=attributes)


def test_a_dynamodb_item_over_400_kb_is_refused(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev")
    ddb, table = runtime.client("dynamodb"), runtime.outputs["LedgerTableName"]
    ddb.put_item(TableName=table, Item={"orderId": {"S": "big"}, "blob": {"S": "a" * 390_000}})
    with pytest.raises(ClientError) as put:
        ddb.put_item(TableName=table, Item={"orderId": {"S": "bigger"}, "blob": {"S": "a" * 420_000}})
    assert _error(put)[:2] == ("ValidationException", "Item size has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as update:
        ddb.update_item(TableName=table, Key={"orderId": {"S": "big"}}, UpdateExpression="SET more = :m",
                        ExpressionAttributeValues={":m": {"S": "b" * 30_000}})
    assert _error(update)[0] == "ValidationException"
    assert "Item size to update has exceeded the maximum allowed size" in _error(update)[1]
