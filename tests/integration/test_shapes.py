"""Request shapes refused as AWS refuses them (ordermail/emulator/shapes.py), end to end.

Static mistakes fail CreateStateMachine/UpdateStateMachine (so the runtime does not start); a
value resolved at run time with the wrong type fails the task with States.Runtime, which no
`States.ALL` catcher sees: the execution fails, the order keeps its claim (PROCESSING, no mail,
no FAILED record) and SQS redelivers it to the DLQ. Stock moto would have sent the mail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ordermail.emulator import LocalRuntime, RuntimeOptions, provision

from .conftest import Harness, make_order


def _mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    asl = json.loads(provision.ASL_PATH.read_text(encoding="utf-8"))
    change(asl["States"])
    return asl


def test_an_unknown_send_member_fails_provisioning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs before this module's runtime exists: one LocalRuntime per process.
    asl = _mutated(lambda states: states["Send"]["Parameters"].update(ReplyToAddress="help@example.com"))
    path = tmp_path / "order_email.asl.json"
    path.write_text(json.dumps(asl), encoding="utf-8")
    monkeypatch.setattr(provision, "ASL_PATH", path)

    runtime = LocalRuntime(RuntimeOptions(outbox_dir=tmp_path / "outbox"))
    try:
        with pytest.raises(ClientError) as raised:
            runtime.start()
    finally:
        runtime.stop()  # a no-op after a failed start; frees the process's one runtime otherwise
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidDefinition"
    assert error["Message"] == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'ReplyToAddress' "
        "is not supported by Step Functions at /States/Send/Parameters'"
    )


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    # Its own runtime: these tests swap the state machine's definition.
    outbox: Path = tmp_path_factory.mktemp("outbox")
    with LocalRuntime(RuntimeOptions(outbox_dir=outbox, time_scale=0.005, max_receive_count=2)) as rt:
        yield rt


@pytest.fixture
def sfn(runtime: LocalRuntime) -> Any:
    return runtime.client("stepfunctions")


@pytest.fixture
def machine(runtime: LocalRuntime, sfn: Any) -> Iterator[str]:
    arn = runtime.provisioned.state_machine_arn
    original = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    yield arn
    sfn.update_state_machine(stateMachineArn=arn, definition=original)


def _definition(sfn: Any, arn: str, change: Callable[[dict[str, Any]], None]) -> str:
    asl = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    change(asl["States"])
    return json.dumps(asl)


def _remove_table_name(states: dict[str, Any]) -> None:
    del states["Claim"]["Parameters"]["TableName"]


def _charset_as_number(states: dict[str, Any]) -> None:
    states["Send"]["Parameters"]["Content"]["Simple"]["Subject"]["Charset"] = 8


@pytest.mark.parametrize(
    ("change", "diagnostic"),
    [
        (_remove_table_name, "The field 'TableName' is required but was missing at /States/Claim/Parameters"),
        (_charset_as_number, "The value for the field 'Charset' must be a STRING at /States/Send/Parameters"),
    ],
)
def test_static_mistakes_fail_create_and_update(
    sfn: Any, machine: str, change: Callable[[dict[str, Any]], None], diagnostic: str
) -> None:
    role = sfn.describe_state_machine(stateMachineArn=machine)["roleArn"]
    definition = _definition(sfn, machine, change)
    with pytest.raises(ClientError) as created:
        sfn.create_state_machine(name="shapes-mutant", definition=definition, roleArn=role, type="EXPRESS")
    with pytest.raises(ClientError) as updated:
        sfn.update_state_machine(stateMachineArn=machine, definition=definition)
    for raised in (created, updated):
        assert raised.value.response["Error"]["Code"] == "InvalidDefinition"
        assert f"SCHEMA_VALIDATION_FAILED: {diagnostic}" in raised.value.response["Error"]["Message"]
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert "shapes-mutant" not in names


def test_a_wrongly_typed_send_value_fails_the_task_with_states_runtime(
    runtime: LocalRuntime, sfn: Any, machine: str
) -> None:
    # A plausible slip: the recipient string where SendEmail wants a list. Statically it is just a path.
    def change(states: dict[str, Any]) -> None:
        states["Send"]["Parameters"]["Destination"]["ToAddresses.$"] = "$.validated.deliverTo"

    sfn.update_state_machine(stateMachineArn=machine, definition=_definition(sfn, machine, change))
    harness = Harness(runtime)
    order = make_order()
    before = len(runtime.executions())
    harness.publish(order)
    harness.settle()

    assert harness.mails_for(order["orderId"]) == []
    item = harness.item(order["orderId"])
    assert item is not None
    # Send's `States.ALL` catcher does not see States.Runtime: no MarkRetryable, no FAILED record;
    # the claim stays held until its lease expires.
    assert item["status"] == "PROCESSING" and "lastError" not in item
    assert harness.timeline_types(order["orderId"]) == ["ATTEMPT_STARTED"]
    first, *redeliveries = runtime.executions()[before:]
    assert first.execution_arn.split(":")[7] == item["claimToken"]  # the execution's name
    assert first.status == "FAILED" and first.error == "States.Runtime"  # once: no retrier matches it
    assert first.cause.startswith("An error occurred while executing the state 'Send'")
    assert "could not be used to start the Task: [The value for the field 'ToAddresses' must be an ARRAY]" in first.cause
    assert "example.com" not in first.cause  # field names only, never the recipient
    # SQS redelivers into the held claim (ClaimHeld) until maxReceiveCount, then the DLQ keeps it.
    assert redeliveries and {e.error for e in redeliveries} == {"ClaimHeld"}
    assert json.dumps(order) in harness.dlq_bodies()


def test_a_number_in_a_dynamodb_string_member_fails_the_claim(runtime: LocalRuntime, sfn: Any, machine: str) -> None:
    # The classic DynamoDB slip: `N.$` resolving to a JSON number (AWS wants "123", a string).
    def change(states: dict[str, Any]) -> None:
        states["Claim"]["Parameters"]["ExpressionAttributeValues"][":lease"] = {
            "N.$": "States.StringToJson($.validated.leaseUntil)"
        }

    sfn.update_state_machine(stateMachineArn=machine, definition=_definition(sfn, machine, change))
    harness = Harness(runtime)
    order = make_order()
    before = len(runtime.executions())
    harness.publish(order)
    harness.settle()

    assert harness.item(order["orderId"]) is None  # the claim was never written
    assert harness.mails_for(order["orderId"]) == []
    failed = [e for e in runtime.executions()[before:] if e.error == "States.Runtime"]
    assert failed and all("The value for the field 'N' must be a STRING" in (e.cause or "") for e in failed)
    assert all("'Claim'" in (e.cause or "") for e in failed)


def test_the_unmutated_definition_still_sends(runtime: LocalRuntime) -> None:
    harness = Harness(runtime)
    order = make_order()
    harness.publish(order)
    harness.settle()
    assert len(harness.mails_for(order["orderId"])) == 1
    item = harness.item(order["orderId"])
    assert item is not None and item["status"] in {"SENT", "DELIVERED"}
