"""`ordermail events --follow` (a subprocess, over HTTP) against a LocalRuntime with status events on:
it prints the events of an order as they happen, filters by status, and removes its queue and rule
on exit (by --max, and by Ctrl-C)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from tasks import names

from .conftest import REPO, SIM, base_env, order


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    options = RuntimeOptions(outbox_dir=tmp_path_factory.mktemp("outbox"), time_scale=0.005, status_events=True,
                             port=0)
    with LocalRuntime(options) as rt:
        yield rt


def _follow(runtime: LocalRuntime, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "ordermail.cli", "events", "--follow", "--endpoint-url", runtime.endpoint_url,
               *args]
    return subprocess.Popen(command, cwd=REPO, env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_subscribed(runtime: LocalRuntime, deadline: float = 60) -> None:
    """Until the follower's rule exists (the CLI's start-up is the slow part)."""
    events = runtime.client("events")
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        rules = events.list_rules(EventBusName=runtime.outputs["StatusEventBusName"])["Rules"]
        if any("-follow-" in r["Name"] and events.list_targets_by_rule(
                Rule=r["Name"], EventBusName=runtime.outputs["StatusEventBusName"])["Targets"] for r in rules):
            return
        time.sleep(0.1)
    raise AssertionError("the follower never subscribed")


def _leftovers(runtime: LocalRuntime) -> tuple[list[str], list[str]]:
    rules = runtime.client("events").list_rules(EventBusName=runtime.outputs["StatusEventBusName"])["Rules"]
    queues = runtime.client("sqs").list_queues().get("QueueUrls", [])
    return [r["Name"] for r in rules if "-follow-" in r["Name"]], [q for q in queues if "-follow-" in q]


def _publish(runtime: LocalRuntime, body: dict) -> None:
    runtime.client("sns").publish(
        TopicArn=runtime.outputs["OrdersTopicArn"], Message=json.dumps(body),
        MessageAttributes={"eventType": {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}})


def test_follow_prints_sent_then_delivered_as_json_and_cleans_up(runtime: LocalRuntime, tmp_path: Path) -> None:
    follower = _follow(runtime, "--json", "--max", "2", "--duration", "60")
    try:
        _wait_subscribed(runtime)
        order_id = f"e2e-ev-{uuid.uuid4().hex[:8]}"
        _publish(runtime, order(order_id))
        out, err = follower.communicate(timeout=90)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    details = [json.loads(line)["detail"] for line in out.splitlines() if line.strip()]
    assert [(d["orderId"], d["previousStatus"], d["status"]) for d in details] == [
        (order_id, "PROCESSING", "SENT"), (order_id, "SENT", "DELIVERED")]
    assert f"success@{SIM}" not in out and "Zoë" not in out and "Ångström" not in out
    assert _leftovers(runtime) == ([], [])


def test_follow_with_a_status_filter_prints_lines_and_cleans_up_on_ctrl_c(runtime: LocalRuntime) -> None:
    follower = _follow(runtime, "--status", "BOUNCED")
    try:
        _wait_subscribed(runtime)
        bounced, delivered = f"e2e-evb-{uuid.uuid4().hex[:8]}", f"e2e-evd-{uuid.uuid4().hex[:8]}"
        _publish(runtime, order(bounced, email=f"bounce@{SIM}"))
        _publish(runtime, order(delivered))
        runtime.wait_idle(timeout=30)
        time.sleep(2.5)  # the follower's next receives
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    lines = [line for line in out.splitlines() if " -> " in line]
    assert len(lines) == 1 and bounced in lines[0] and "SENT -> BOUNCED" in lines[0]
    assert "bounceType=Permanent" in lines[0]
    assert delivered not in out
    assert _leftovers(runtime) == ([], [])


def test_follow_says_when_status_events_are_off() -> None:
    from ordermail.cli.aws import AwsContext
    from ordermail.cli.commands.events import Follower
    from ordermail.cli.errors import CliError

    ctx = AwsContext(env="dev", endpoint_url="http://127.0.0.1:9", region="us-east-1")
    ctx.__dict__["outputs"] = {"LedgerTableName": "ordermail-dev-ledger"}  # a stack without status events
    with pytest.raises(CliError, match="status events are off"), Follower(ctx):
        pass
