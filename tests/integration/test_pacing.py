"""Pacing and the daily quota on the runtime (docs/PACING.md): sends take a slot of the current
second in the pacing table, a spent quota and a long wait put the order back on the queue as a new
message, and nothing of it moves an order toward FAILED or the DLQ."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from ordermail.emulator import LocalRuntime
from ordermail.emulator.iam.template import synthesized_template
from tasks import names
from tests.integration.conftest import Harness, make_order
from tests.integration.test_iam_mutations import _until, drop_action

SIMULATOR = "success@simulator.amazonses.com"


def _pacing_item(runtime: LocalRuntime) -> dict[str, Any]:
    table = names.resource_names(runtime.options.env)["pacing_table"]
    return runtime.client("dynamodb").get_item(
        TableName=table, Key={names.PACING_PARTITION_KEY: {"S": names.PACING_BUCKET}}, ConsistentRead=True
    ).get("Item", {})


def test_a_burst_is_sent_at_the_account_rate_without_throttling_or_dead_letters(make_runtime: Any) -> None:
    # AWS timing (scale 1): 2 mails/s, eight Pipe pollers, sixteen orders at once.
    runtime = make_runtime(env="dev", time_scale=1.0, ses_max_send_rate=2, pipe_workers=8,
                           ses_event_delay_seconds=0.2)
    harness = Harness(runtime)
    orders = [make_order(email=SIMULATOR) for _ in range(16)]
    for order in orders:
        harness.publish(order)
    _until(lambda: len(runtime.sent_mails()) >= 16, timeout=60)
    assert runtime.wait_idle(timeout=30)

    assert sorted(m.order_id for m in runtime.sent_mails()) == sorted(o["orderId"] for o in orders)
    assert runtime.ses_quota.throttled <= 1  # the window edges may let one through early: Send retries it
    per_second = Counter(int(mail.at) for mail in runtime.sent_mails())
    assert max(per_second.values()) <= 4  # two windows can meet in one wall-clock second, never more
    assert runtime.queue_depths()["orders_dlq"] == 0
    item = _pacing_item(runtime)
    assert 1 <= int(item["sent"]["N"]) <= 2 and len(item["window"]["S"]) == len("2026-12-05T16:00:01")


def test_orders_over_the_daily_quota_wait_and_go_out_once_the_window_allows(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev", time_scale=0.005, ses_daily_quota=2, ses_max_send_rate=1000)
    harness = Harness(runtime)
    orders = [make_order(email=SIMULATOR) for _ in range(4)]
    for order in orders:
        harness.publish(order)
    _until(lambda: sum("DEFERRED" in harness.timeline_types(o["orderId"]) for o in orders) == 2, timeout=30)
    assert sum(len(harness.mails_for(o["orderId"])) for o in orders) == 2
    runtime.ses_quota.age(86_400)  # the day passes (its 432 real seconds at this scale, at once)
    _until(lambda: all(len(harness.mails_for(o["orderId"])) == 1 for o in orders), timeout=60)
    assert runtime.wait_idle(timeout=30)

    deferred = [o for o in orders if "DEFERRED" in harness.timeline_types(o["orderId"])]
    assert len(deferred) == 2  # the quota let two through at once; the other two waited
    for order in orders:
        item = harness.item(order["orderId"]) or {}
        assert item["status"] in ("SENT", "DELIVERED") and "lastError" not in item
        assert len(harness.mails_for(order["orderId"])) == 1
    for order in deferred:
        entries = (harness.item(order["orderId"]) or {})["timeline"]
        assert {e["reason"] for e in entries if e["type"] == "DEFERRED"} == {"ses_daily_quota"}
        # A new message each time: its count starts again (a loaded machine may redeliver one once, e.g.
        # a ClaimHeld while a duplicate copy holds the claim), never the sum of the waits.
        assert int([e["receiveCount"] for e in entries if e["type"] == "ATTEMPT_STARTED"][-1]) <= 2
    assert runtime.ses_quota.over_quota >= 2
    assert runtime.queue_depths()["orders_dlq"] == 0


def test_an_order_that_waits_too_long_for_a_slot_goes_back_to_the_queue_not_to_the_dlq(make_runtime: Any) -> None:
    runtime = make_runtime(env="dev", time_scale=0.01, max_receive_count=2)  # 2.4 s of waiting a try
    harness = Harness(runtime)
    ddb = runtime.client("dynamodb")
    table = names.resource_names("dev")["pacing_table"]
    # A window in the future holds every slot: no second of ours can open it or find one left.
    ddb.put_item(TableName=table, Item={names.PACING_PARTITION_KEY: {"S": names.PACING_BUCKET},
                                        "window": {"S": "9999-12-31T23:59:59"}, "sent": {"N": "1000000"}})
    order = make_order(email=SIMULATOR)
    harness.publish(order)
    _until(lambda: harness.timeline_types(order["orderId"]).count("DEFERRED") >= 2, timeout=30)
    item = harness.item(order["orderId"]) or {}
    assert item["status"] == "PROCESSING" and harness.mails_for(order["orderId"]) == []
    assert {e["reason"] for e in item["timeline"] if e["type"] == "DEFERRED"} == {"ses_send_rate"}
    ddb.delete_item(TableName=table, Key={names.PACING_PARTITION_KEY: {"S": names.PACING_BUCKET}})

    _until(lambda: len(harness.mails_for(order["orderId"])) == 1, timeout=30)
    assert runtime.wait_idle(timeout=30)
    assert (harness.item(order["orderId"]) or {})["status"] in ("SENT", "DELIVERED")
    assert runtime.queue_depths()["orders_dlq"] == 0  # more waits than maxReceiveCount, none counted


def test_without_its_pacing_grant_the_state_machine_fails_retryably_and_sends_nothing(
        make_runtime: Any) -> None:
    mutated = copy.deepcopy(synthesized_template("dev"))
    drop_action(mutated, "WorkflowStateMachineRoleDefaultPolicy", "dynamodb:UpdateItem")  # ledger AND pacing
    runtime = make_runtime(env="dev", time_scale=0.005, max_receive_count=2, iam_template=mutated)
    denied = runtime.iam.usage.denied  # type: ignore[union-attr]
    harness = Harness(runtime)
    order = make_order(email=SIMULATOR)
    harness.publish(order)
    _until(lambda: runtime.queue_depths()["orders_dlq"] == 1, timeout=30)
    assert harness.mails_for(order["orderId"]) == []
    assert ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/ordermail-dev-ledger") in \
        denied()["state-machine"]


def test_only_the_pacing_grant_removed_stops_sends_at_the_slot(make_runtime: Any) -> None:
    mutated = copy.deepcopy(synthesized_template("dev"))
    policy = next(r["Properties"] for lg, r in mutated["Resources"].items()
                  if r["Type"] == "AWS::IAM::Policy" and lg.startswith("WorkflowStateMachineRoleDefaultPolicy"))
    before = policy["PolicyDocument"]["Statement"]
    policy["PolicyDocument"]["Statement"] = [s for s in before if s.get("Sid") != "PacingSlots"]
    assert len(policy["PolicyDocument"]["Statement"]) == len(before) - 1
    runtime = make_runtime(env="dev", time_scale=0.005, max_receive_count=2, iam_template=mutated)
    harness = Harness(runtime)
    order = make_order(email=SIMULATOR)
    harness.publish(order)
    item = _until(lambda: (i := harness.item(order["orderId"])) and i.get("status") == "FAILED" and i, timeout=30)
    assert item["lastError"] == "DynamoDB.AmazonDynamoDBException" or item["lastError"].startswith("DynamoDB.")
    assert "dynamodb:UpdateItem" in item["lastCause"] and "send-pacing" in item["lastCause"]
    assert harness.mails_for(order["orderId"]) == []
    assert item["timeline"][-1]["retryable"] is True  # SQS redelivers it: a grant fixed in time still sends
