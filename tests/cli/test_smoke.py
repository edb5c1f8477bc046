"""`ordermail smoke` on moto: the orders it publishes, how it judges each ledger state, and that it fails
(exit 1, every order named) when the stack records nothing. tests/e2e/test_smoke.py runs it against the
whole pipeline."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ordermail.cli.commands import smoke
from ordermail.cli.ledger import order_view
from tasks import names
from tasks.domain.order import Reason, Rejection, validate_order

from .conftest import Stack, execution_arn, iso_ago, ledger_item, main

PREFIX = "smoke-20261205T101500Z-abc123-"


def _cases() -> dict[str, smoke.Case]:
    return {case.name: case for case in smoke.build_cases(PREFIX)}


def test_prefix_is_unique_per_run_and_says_smoke_and_when() -> None:
    first, second = smoke.new_prefix(), smoke.new_prefix()
    assert first != second
    assert re.fullmatch(r"smoke-\d{8}T\d{6}Z-[0-9a-f]{6}-", first)


def test_the_orders_are_simulator_only_and_validate_as_the_workflow_will() -> None:
    cases = _cases()
    assert list(cases) == ["success", "bounce", "complaint", "duplicate", "invalid"]
    local_parts = {}
    for name, case in cases.items():
        assert case.order_id == PREFIX + name
        # SES tag values allow only letters, digits, `_` and `-`: the plain orderId tag is used.
        assert re.fullmatch(r"[A-Za-z0-9_-]+", case.order_id)
        local, _, domain = case.recipient.partition("@")
        assert domain == names.SES_SIMULATOR_DOMAIN
        local_parts[name] = local.split("+")[0]
        if name == "invalid":
            with pytest.raises(Rejection) as rejected:
                validate_order(case.sample.body, default_currency="USD")
            assert rejected.value.reason == Reason.TOTAL_MISMATCH
        else:
            assert validate_order(case.sample.body, default_currency="USD").order_id == case.order_id
    # The mailbox simulator's outcome is chosen by the local part.
    assert local_parts["bounce"] == "bounce" and local_parts["complaint"] == "complaint"
    assert local_parts["success"] == local_parts["duplicate"] == "success"
    assert cases["duplicate"].publish_times == 2
    assert all(c.publish_times == 1 for n, c in cases.items() if n != "duplicate")


def _view(status: str, **extra: Any) -> dict[str, Any]:
    return order_view(ledger_item("o-1", status, **extra))


def _bounce(bounce_type: str) -> list[dict[str, Any]]:
    return [{"type": "Bounce", "at": iso_ago(1), "key": "b", "bounceType": bounce_type, "bounceSubType": "General"}]


def _two_attempts(first: str) -> list[dict[str, Any]]:
    """A timeline with two claims of the order: the first ended `first`, the second sent a mail."""
    timeline: list[dict[str, Any]] = []
    for number, outcome in ((1, first), (2, "SENT")):
        arn = execution_arn(f"o-1-{number}")
        timeline.append({"type": "ATTEMPT_STARTED", "at": iso_ago(10 - 2 * number), "executionArn": arn})
        timeline.append({"type": "ATTEMPT_SENT", "at": iso_ago(9 - 2 * number), "executionArn": arn,
                         "sesMessageId": f"0100-{number}"} if outcome == "SENT" else
                        {"type": "ATTEMPT_FAILED", "at": iso_ago(9 - 2 * number), "executionArn": arn,
                         "error": "SesV2.MessageRejectedException", "cause": "rejected"})
    return timeline


# (case, ledger state, ok, settled): settled False means smoke keeps waiting for it.
JUDGEMENTS = [
    ("success", _view("DELIVERED"), True, True),
    ("success", _view("SENT"), False, False),
    ("success", _view("PROCESSING"), False, False),
    ("success", _view("FAILED"), False, True),
    ("success", _view("BOUNCED"), False, True),
    ("bounce", _view("BOUNCED"), True, True),
    ("bounce", _view("BOUNCED", events=_bounce("Undetermined")), False, True),
    ("bounce", _view("DELIVERED"), False, False),  # a Bounce still outranks it
    ("bounce", _view("SUPPRESSED"), False, True),
    ("complaint", _view("COMPLAINED"), True, True),
    ("complaint", _view("COMPLAINED", events=[{"type": "Complaint", "at": iso_ago(1), "key": "c"}]), False, False),
    ("complaint", _view("DELIVERED"), False, False),
    ("duplicate", _view("DELIVERED", duplicateCount=1), True, True),
    ("duplicate", _view("DELIVERED", duplicateCount=0), False, False),
    ("duplicate", _view("DELIVERED", duplicateCount=1, timeline=_two_attempts("SENT")), False, True),
    ("duplicate", _view("DELIVERED", duplicateCount=0, timeline=_two_attempts("FAILED")), False, True),
    ("duplicate", _view("DELIVERED", duplicateCount=1, payloadConflict=True), False, True),
    ("invalid", _view("INVALID"), True, True),
    ("invalid", _view("INVALID", invalidReason="unknown_currency"), False, True),
    ("invalid", _view("PROCESSING"), False, True),  # claimed: validation let it through
    ("invalid", _view("DELIVERED"), False, True),
]


@pytest.mark.parametrize(("name", "view", "ok", "settled"), JUDGEMENTS,
                         ids=[f"{n}-{v['status']}-{i}" for i, (n, v, _, _) in enumerate(JUDGEMENTS)])
def test_each_ledger_state_is_judged(name: str, view: dict[str, Any], ok: bool, settled: bool) -> None:
    verdict = smoke.judge(_cases()[name], view)
    assert (verdict.ok, verdict.settled) == (ok, settled), verdict
    assert verdict.observed == view["status"]
    assert verdict.detail


def test_no_ledger_item_is_waited_for() -> None:
    verdict = smoke.judge(_cases()["success"], None)
    assert (verdict.observed, verdict.ok, verdict.settled) == (smoke.NOT_IN_LEDGER, False, False)


def test_nothing_recorded_fails_every_order_after_the_timeout(stack: Stack, capsys) -> None:
    """moto runs no workflow: smoke publishes through the orders topic, the ledger stays empty."""
    assert main(["smoke", "--timeout", "0.3", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["stack"] == "OrderMail-dev"
    rows = report["orders"]
    assert [row["case"] for row in rows] == ["success", "bounce", "complaint", "duplicate", "invalid"]
    assert all(row["orderId"].startswith(report["prefix"]) for row in rows)
    assert all(not row["ok"] and row["observed"] == smoke.NOT_IN_LEDGER and "timed out" in row["detail"]
               for row in rows)
    assert "second copy never published" in rows[3]["detail"]
    # What reached the queue: one message per order (the duplicate's second copy waits for its first),
    # each with the attribute the subscription filters on, each to the mailbox simulator.
    messages = stack.messages()
    assert sorted(json.loads(m["Body"])["orderId"] for m in messages) == sorted(r["orderId"] for r in rows)
    for message in messages:
        assert message["MessageAttributes"][names.ORDER_EVENT_TYPE_ATTRIBUTE]["StringValue"] == names.ORDER_EVENT_TYPE
        assert json.loads(message["Body"])["customerEmail"].endswith("@" + names.SES_SIMULATOR_DOMAIN)


def test_human_table_names_each_failed_order(stack: Stack, capsys) -> None:
    assert main(["smoke", "--timeout", "0.2"]) == 1
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("│ smoke-")]
    assert len(rows) == 5 and all("FAIL" in row for row in rows)
    assert "0/5 ok" in out and "smoke check FAILED" in out


def test_missing_stack_publishes_nothing(aws: None, capsys) -> None:
    assert main(["smoke", "--timeout", "1"]) == 1
    assert "stack OrderMail-dev not found" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_timeout_must_be_positive(value: str, capsys) -> None:
    assert main(["smoke", "--timeout", value]) == 2
    assert capsys.readouterr().err.count("\n") == 1
