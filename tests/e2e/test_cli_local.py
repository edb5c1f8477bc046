"""The operator CLI against `ordermail local`: the journeys an operator and a developer take."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tasks import names

from .conftest import SIM, Server, free_port, new_id, order


def test_outputs_json_has_every_output_key(server: Server) -> None:
    outputs = server.cli_json("outputs")
    assert set(names.STACK_OUTPUT_KEYS) <= set(outputs)
    assert outputs["LedgerTableName"] == names.resource_names("dev")["ledger_table"]


def test_publish_reaches_delivered_with_one_mail(server: Server) -> None:
    order_id = new_id("ok")
    server.publish(order(order_id))
    server.wait_status(order_id, "DELIVERED")
    view = server.cli_json("status", order_id)
    assert view["status"] == "DELIVERED" and view["sesMessageId"]
    assert view["recipient"] == f"success@{SIM}"
    [attempt] = view["attempts"]
    # A successful attempt keeps the execution's name; only failed ones keep the full ARN (docs/LEDGER.md)
    assert attempt["outcome"] == "SENT" and attempt["execution"] and attempt["executionArn"] is None
    assert attempt["startedAt"] and attempt["endedAt"] and attempt["error"] is None
    assert [e["type"] for e in view["events"]] == ["Delivery"]
    assert len(server.mails_for(order_id)) == 1
    history = server.cli("history", order_id)
    assert history.returncode == 0
    assert "ATTEMPT_STARTED" in history.stdout and "Delivery" in history.stdout
    assert "console.aws.amazon.com" not in history.stdout  # no console links for a local endpoint


def test_simulator_bounce_is_bounced(server: Server) -> None:
    order_id = new_id("bounce")
    server.publish(order(order_id, f"bounce@{SIM}"))
    server.wait_status(order_id, "BOUNCED")
    view = server.cli_json("status", order_id)
    bounce = next(e for e in view["events"] if e["type"] == "Bounce")
    assert bounce["bounceType"] == "Permanent" and bounce["at"]


def test_simulator_complaint_is_complained(server: Server) -> None:
    order_id = new_id("complaint")
    server.publish(order(order_id, f"complaint@{SIM}"))
    server.wait_status(order_id, "COMPLAINED")
    view = server.cli_json("status", order_id)
    assert "Complaint" in [e["type"] for e in view["events"]]


def test_duplicate_publish_sends_one_mail(server: Server) -> None:
    order_id = new_id("dup")
    server.publish(order(order_id), order(order_id))  # the same order twice in one JSON-lines file
    server.wait_status(order_id, "DELIVERED")
    server.wait_for("the duplicate to be recorded",
                    lambda: (server.item(order_id) or {}).get("duplicateCount", 0) >= 1)
    view = server.cli_json("status", order_id)
    assert view["duplicateCount"] == 1 and len(view["attempts"]) == 1
    assert len(server.mails_for(order_id)) == 1


def test_invalid_order_is_recorded_and_never_retried(server: Server) -> None:
    order_id = new_id("invalid")
    server.publish(order(order_id, total="99.00"))
    server.wait_status(order_id, "INVALID")
    view = server.cli_json("status", order_id)
    assert view["invalidReason"] == "total_mismatch" and "total" in view["invalidMessage"]
    assert server.mails_for(order_id) == []


def test_poison_message_goes_to_the_dlq_and_redrive_brings_it_back(server: Server) -> None:
    """A message whose order is held by a claim that never ends fails every execution (ClaimHeld):
    after maxReceiveCount receives it is dead-lettered. Once the claim is cleared, redrive-dlq
    moves it back and it goes out."""
    order_id = new_id("poison")
    outputs = server.outputs()
    ddb = server.client("dynamodb")
    far = int(time.time()) + 3600
    ddb.put_item(TableName=outputs["LedgerTableName"], Item={
        "orderId": {"S": order_id}, "status": {"S": "PROCESSING"}, "leaseUntil": {"N": str(far)},
        "updatedAt": {"S": "2026-01-01T00:00:00.000Z"}, "claimToken": {"S": "arn:aws:states:stuck"},
    })
    server.publish(order(order_id))

    def dead_lettered() -> bool:  # peek: a zero visibility timeout leaves the messages visible
        messages = server.client("sqs").receive_message(
            QueueUrl=outputs["DeadLetterQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        return any(order_id in message["Body"] for message in messages)

    server.wait_for("the poison message to reach the DLQ", dead_lettered)
    assert server.mails_for(order_id) == []
    listed = server.cli_json("redrive-dlq", "--dry-run")
    assert order_id in [m["orderId"] for m in listed["messages"]]
    # The operator clears the stuck claim (here: the lease ends), then redrives.
    ddb.update_item(TableName=outputs["LedgerTableName"], Key={"orderId": {"S": order_id}},
                    UpdateExpression="SET leaseUntil = :past", ExpressionAttributeValues={":past": {"N": "1"}})
    moved = server.cli_json("redrive-dlq")
    assert order_id in [m["orderId"] for m in moved["messages"]]
    server.wait_status(order_id, "SENT", "DELIVERED")
    assert len(server.mails_for(order_id)) == 1


def test_resend_is_audited_and_sends_a_second_mail(server: Server) -> None:
    order_id = new_id("resend")
    server.publish(order(order_id))
    server.wait_status(order_id, "DELIVERED")
    refused = server.cli("replay", order_id)
    assert refused.returncode == 1 and "resend" in refused.stderr
    result = server.cli_json("resend", order_id, "--reason", "customer lost the mail", "--by", "e2e@example.com")
    server.wait_for("the resent mail", lambda: len(server.mails_for(order_id)) == 2)
    server.wait_status(order_id, "DELIVERED")
    view = server.cli_json("status", order_id)
    resend = next(a for a in view["attempts"] if a["kind"] == "RESEND")
    assert resend["by"] == "e2e@example.com" and resend["reason"] == "customer lost the mail"
    assert resend["outcome"] == "SENT"
    timeline = [e for e in view["timeline"] if e["type"] == "RESEND"]
    assert timeline[0]["resendId"] == result["resendId"]


def test_status_list_and_bulk_replay_dry_run(server: Server) -> None:
    order_id = new_id("listed")
    server.publish(order(order_id, total="1.00"))
    server.wait_status(order_id, "INVALID")
    listed = server.cli_json("status", "--status", "INVALID", "--since", "1h")
    assert order_id in [o["orderId"] for o in listed["orders"]]
    dry = server.cli_json("replay", "--status", "INVALID", "--since", "1h", "--dry-run")
    assert order_id in [o["orderId"] for o in dry["wouldReplay"]]


# --- error paths: documented exit code, one line on stderr ---------------------------------------

def _one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unknown_order_exits_1(server: Server) -> None:
    for command in (["status", "no-such-order"], ["history", "no-such-order"], ["replay", "no-such-order"],
                    ["resend", "no-such-order", "--reason", "x"]):
        result = server.cli(*command)
        assert result.returncode == 1, command
        assert "not found" in _one_line(result)


def test_bad_input_exits_2_and_publishes_nothing(server: Server, tmp_path: Path) -> None:
    order_id = new_id("never")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(order(order_id)) + "\n{not json}\n", encoding="utf-8")
    result = server.cli("publish", str(bad))
    assert result.returncode == 2 and "invalid JSON at line 2" in _one_line(result)
    missing = server.cli("publish", str(tmp_path / "missing.json"))
    assert missing.returncode == 2 and "no such file" in _one_line(missing)
    from_stdin = server.cli("publish", "-", stdin="[1, 2]")
    assert from_stdin.returncode == 2
    time.sleep(0.5)  # give a wrongly published order a chance to show up
    assert server.item(order_id) is None


def test_usage_errors_exit_2(server: Server) -> None:
    assert server.cli("resend", "x").returncode == 2  # --reason is required
    assert server.cli("status").returncode == 2
    assert server.cli("replay").returncode == 2
    assert server.cli("frobnicate").returncode == 2


def test_missing_stack_and_unreachable_endpoint_exit_1(server: Server) -> None:
    missing = server.cli("--env", "prod", "outputs")
    assert missing.returncode == 1 and "stack OrderMail-prod not found" in _one_line(missing)
    unreachable = server.cli("outputs", endpoint=f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 1 and "cannot reach" in _one_line(unreachable)


# --- injected failure → FAILED → replay → SENT (its own server, with SES faults) ---------------

SEED = 1  # random.Random(1): 0.134…, 0.847…: the first SendEmail is rejected, the second goes out


@pytest.fixture(scope="module")
def faulty_server(tmp_path_factory: pytest.TempPathFactory):
    import random

    from .conftest import start_server, stop_server

    draws = random.Random(SEED)
    assert draws.random() < 0.5 <= draws.random()  # the premise of the test below
    running = start_server(tmp_path_factory.mktemp("ordermail-faulty"), "--fault-ses-reject-rate", "0.5",
                           "--fault-seed", str(SEED))
    yield running
    assert stop_server(running) == 0


def test_injected_failure_is_failed_then_replay_sends(faulty_server: Server) -> None:
    order_id = new_id("replay")
    faulty_server.publish(order(order_id))
    faulty_server.wait_status(order_id, "FAILED")
    failed = faulty_server.cli_json("status", order_id)
    assert failed["lastError"] == "SesV2.MessageRejectedException"
    assert failed["attempts"][0]["outcome"] == "FAILED"
    assert faulty_server.cli_json("status", "--status", "FAILED", "--since", "1h")["count"] == 1
    dry = faulty_server.cli_json("replay", "--status", "FAILED", "--since", "1h", "--dry-run")
    assert [o["orderId"] for o in dry["wouldReplay"]] == [order_id]
    result = faulty_server.cli("replay", order_id)
    assert result.returncode == 0, result.stderr
    faulty_server.wait_status(order_id, "SENT", "DELIVERED")
    view = faulty_server.cli_json("status", order_id)
    assert [a["outcome"] for a in view["attempts"]] == ["FAILED", "SENT"]
    assert len(faulty_server.mails_for(order_id)) == 1
