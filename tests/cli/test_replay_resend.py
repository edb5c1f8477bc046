"""`ordermail replay` and `ordermail resend`: what they refuse, and what they put on the queue."""

from __future__ import annotations

import json
import uuid

import pytest

from tasks import names
from tasks.domain.ledger_view import request_body

from .conftest import Stack, ledger_item, main


def _attributes(message: dict) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}


# --- replay, one order -------------------------------------------------------------------------

@pytest.mark.parametrize("status", names.LEDGER_SENT_STATUSES)
def test_replay_refuses_orders_whose_mail_went_out(stack: Stack, capsys, status: str) -> None:
    stack.put(ledger_item("o-sent", status))
    assert main(["replay", "o-sent"]) == 1
    err = capsys.readouterr().err
    assert f"is {status}" in err and "ordermail resend o-sent --reason" in err
    assert len(err.strip().splitlines()) == 1
    assert stack.messages() == []


def test_replay_refuses_processing_with_a_live_lease(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-busy", "PROCESSING", lease_in=300))
    assert main(["replay", "o-busy"]) == 1
    assert "PROCESSING (lease until" in capsys.readouterr().err
    assert stack.messages() == []


def test_replay_takes_an_expired_processing_lease(stack: Stack, capsys) -> None:
    item = stack.put(ledger_item("o-stuck", "PROCESSING", lease_in=-10))
    assert main(["replay", "o-stuck", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["previousStatus"] == "PROCESSING"
    [message] = stack.messages()
    assert message["Body"] == request_body(item)  # the stored (compressed) request, as it came


def test_replay_of_a_failed_order_sends_the_stored_request(stack: Stack, capsys) -> None:
    item = stack.put(ledger_item("o-failed", "FAILED"))
    assert main(["replay", "o-failed"]) == 0
    assert "replay queued for order o-failed (was FAILED)" in capsys.readouterr().out
    [message] = stack.messages()
    assert message["Body"] == request_body(item)  # the stored (compressed) request, as it came
    attributes = _attributes(message)
    assert names.REPLAY_ATTRIBUTE in attributes
    assert attributes[names.ORDER_EVENT_TYPE_ATTRIBUTE] == names.ORDER_EVENT_TYPE
    assert names.RESEND_ID_ATTRIBUTE not in attributes  # a replay is an ordinary claim, not a resend


def test_replay_of_an_invalid_order_warns_it_will_likely_be_invalid_again(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-invalid", "INVALID"))
    assert main(["replay", "o-invalid"]) == 0
    assert "INVALID again" in capsys.readouterr().err
    assert len(stack.messages()) == 1


def test_replay_dry_run_sends_nothing(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-failed", "FAILED"))
    assert main(["replay", "o-failed", "--dry-run"]) == 0
    assert "would replay order o-failed" in capsys.readouterr().out
    assert stack.messages() == []


def test_replay_of_an_unknown_order_exits_1(stack: Stack, capsys) -> None:
    assert main(["replay", "nobody"]) == 1
    assert "order 'nobody' not found" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["replay"], ["replay", "o-1", "--status", "FAILED"],
                                  ["replay", "--status", "SENT"], ["replay", "--since", "yesterday-ish"]])
def test_replay_usage_errors_exit_2(stack: Stack, capsys, argv: list[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


# --- replay, bulk ------------------------------------------------------------------------------

def test_bulk_replay_takes_failed_orders_since_the_time(stack: Stack, capsys) -> None:
    for n in range(3):
        stack.put(ledger_item(f"recent-{n}", "FAILED", updated_ago=600))
    stack.put(ledger_item("old", "FAILED", updated_ago=3 * 86400))
    stack.put(ledger_item("done", "DELIVERED", updated_ago=60))
    assert main(["replay", "--status", "FAILED", "--since", "24h", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(r["orderId"] for r in report["replayed"]) == ["recent-0", "recent-1", "recent-2"]
    assert report["matched"] == 3 and report["skipped"] == [] and report["failed"] == []
    bodies = sorted(json.loads(m["Body"])["orderId"] for m in stack.messages())
    assert bodies == ["recent-0", "recent-1", "recent-2"]


def test_bulk_replay_dry_run_lists_and_skips(stack: Stack, capsys) -> None:
    stack.put(ledger_item("f-1", "FAILED", updated_ago=60))
    stack.put(ledger_item("p-live", "PROCESSING", updated_ago=30, lease_in=300))
    stack.put(ledger_item("p-dead", "PROCESSING", updated_ago=900, lease_in=-500))
    assert main(["replay", "--status", "FAILED,PROCESSING", "--since", "1h", "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(r["orderId"] for r in report["wouldReplay"]) == ["f-1", "p-dead"]
    assert [r["orderId"] for r in report["skipped"]] == ["p-live"]
    assert stack.messages() == []


def test_bulk_replay_human_summary(stack: Stack, capsys) -> None:
    stack.put(ledger_item("f-1", "FAILED", updated_ago=60))
    assert main(["replay", "--since", "2h"]) == 0  # --status defaults to FAILED
    out = capsys.readouterr().out
    assert "1 matched, replayed 1, skipped 0" in out and "f-1" in out


# --- resend ------------------------------------------------------------------------------------

def test_resend_carries_the_audit_attributes(stack: Stack, capsys) -> None:
    item = stack.put(ledger_item("o-delivered", "DELIVERED"))
    code = main(["resend", "o-delivered", "--reason", "customer  lost\nthe mail", "--by", "alice@example.com",
                 "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    [message] = stack.messages()
    assert message["Body"] == request_body(item)  # the stored (compressed) request, as it came
    attributes = _attributes(message)
    assert attributes[names.RESEND_BY_ATTRIBUTE] == "alice@example.com"
    assert attributes[names.RESEND_REASON_ATTRIBUTE] == "customer lost the mail"
    assert uuid.UUID(attributes[names.RESEND_ID_ATTRIBUTE]).version == 4
    assert report["resendId"] == attributes[names.RESEND_ID_ATTRIBUTE]
    assert names.REPLAY_ATTRIBUTE not in attributes


def test_resend_defaults_who_to_the_caller_identity(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-sent", "SENT"))
    assert main(["resend", "o-sent", "--reason", "support ticket 42"]) == 0
    assert "resend of order o-sent queued" in capsys.readouterr().out
    [message] = stack.messages()
    assert _attributes(message)[names.RESEND_BY_ATTRIBUTE].startswith("arn:aws:")  # sts:GetCallerIdentity


def test_each_resend_has_a_new_id(stack: Stack) -> None:
    stack.put(ledger_item("o-sent", "SENT"))
    assert main(["resend", "o-sent", "--reason", "one"]) == 0
    assert main(["resend", "o-sent", "--reason", "two"]) == 0
    ids = {_attributes(m)[names.RESEND_ID_ATTRIBUTE] for m in stack.messages()}
    assert len(ids) == 2


def test_resend_refuses_an_order_in_flight(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-busy", "PROCESSING", lease_in=300))
    assert main(["resend", "o-busy", "--reason", "x"]) == 1
    assert "in flight" in capsys.readouterr().err
    assert stack.messages() == []


def test_resend_refuses_an_invalid_order(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-invalid", "INVALID"))
    assert main(["resend", "o-invalid", "--reason", "x"]) == 1
    assert "INVALID" in capsys.readouterr().err


def test_resend_of_an_unknown_order_exits_1(stack: Stack, capsys) -> None:
    assert main(["resend", "ghost", "--reason", "x"]) == 1
    assert "not found" in capsys.readouterr().err
    assert stack.messages() == []


def test_resend_requires_a_reason(stack: Stack, capsys) -> None:
    stack.put(ledger_item("o-sent", "SENT"))
    assert main(["resend", "o-sent"]) == 2
    assert "--reason" in capsys.readouterr().err
    assert main(["resend", "o-sent", "--reason", "   "]) == 2
    assert stack.messages() == []
