"""`ordermail status` and `ordermail history` on ledger items shaped as docs/LEDGER.md describes."""

from __future__ import annotations

import json

from tasks import names

from .conftest import REGION, Stack, execution_arn, iso_ago, ledger_item, main


def _bounced_after_a_retry(stack: Stack) -> dict:
    """Two attempts (the first failed, the second sent), then Send and Bounce events, one resend."""
    first, second, third = execution_arn("b-1"), execution_arn("b-2"), execution_arn("b-3")
    item = ledger_item("o-bounce", "BOUNCED", updated_ago=10)
    item["timeline"] = [
        {"type": "ATTEMPT_STARTED", "at": iso_ago(100), "executionArn": first, "receiveCount": "1"},
        {"type": "ATTEMPT_FAILED", "at": iso_ago(99), "executionArn": first, "error": "SesV2.TooManyRequestsException",
         "cause": "Maximum sending rate exceeded.", "retryable": True},
        {"type": "ATTEMPT_STARTED", "at": iso_ago(60), "executionArn": second, "receiveCount": "2"},
        {"type": "ATTEMPT_SENT", "at": iso_ago(59), "executionArn": second, "sesMessageId": "0100-o-bounce-ses"},
        {"type": "DUPLICATE", "at": iso_ago(40), "executionArn": execution_arn("dup"), "payloadHash": "ab" * 32,
         "receiveCount": "1"},
        {"type": "RESEND", "at": iso_ago(20), "executionArn": third, "by": "arn:aws:iam::123456789012:user/alice",
         "reason": "customer asked", "resendId": "4f9c"},
    ]
    item["attemptCount"] = 3
    item["duplicateCount"] = 1
    return stack.put(item)


def test_status_json_shape(stack: Stack, capsys) -> None:
    _bounced_after_a_retry(stack)
    assert main(["status", "o-bounce", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["orderId"] == "o-bounce" and view["status"] == "BOUNCED"
    assert view["sesMessageId"] == "0100-o-bounce-ses"
    assert view["recipient"] == "success@simulator.amazonses.com"
    attempts = view["attempts"]
    assert [a["outcome"] for a in attempts] == ["FAILED", "SENT", "IN_PROGRESS"]
    for attempt in attempts:
        assert {"executionArn", "startedAt", "endedAt", "outcome", "error"} <= set(attempt)
    assert attempts[0]["error"] == "SesV2.TooManyRequestsException"
    assert attempts[2]["kind"] == "RESEND" and attempts[2]["by"].endswith("user/alice")
    events = view["events"]
    assert [e["type"] for e in events] == ["Bounce"]
    assert events[0]["bounceType"] == "Permanent" and events[0]["bounceSubType"] == "General"
    assert all(e["at"] for e in events)
    assert "request" not in view  # the stored body stays out of the status document


def test_status_human_output(stack: Stack, capsys) -> None:
    _bounced_after_a_retry(stack)
    assert main(["status", "o-bounce"]) == 0
    out = capsys.readouterr().out
    for text in ("o-bounce", "BOUNCED", "0100-o-bounce-ses", "Attempts", "SesV2.TooManyRequestsException",
                 "SES events", "bounceType=Permanent", "customer asked"):
        assert text in out


def test_status_of_an_unknown_order_exits_1(stack: Stack, capsys) -> None:
    assert main(["status", "ghost"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        f"ordermail status: order 'ghost' not found in the ledger ({names.resource_names('dev')['ledger_table']})")


def test_status_unicode_order_id(stack: Stack, capsys) -> None:
    stack.put(ledger_item("注文-٣٤-🎉", "DELIVERED"))
    assert main(["status", "注文-٣٤-🎉", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["orderId"] == "注文-٣٤-🎉"


def test_status_list_by_status_since(stack: Stack, capsys) -> None:
    stack.put(ledger_item("f-new", "FAILED", updated_ago=120))
    stack.put(ledger_item("f-old", "FAILED", updated_ago=2 * 86400))
    stack.put(ledger_item("b-new", "BOUNCED", updated_ago=60))
    stack.put(ledger_item("d-new", "DELIVERED", updated_ago=60))
    assert main(["status", "--status", "FAILED,BOUNCED", "--since", "24h", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(o["orderId"] for o in report["orders"]) == ["b-new", "f-new"]
    assert report["count"] == 2
    assert main(["status", "--status", "failed", "--since", "3d"]) == 0
    out = capsys.readouterr().out
    assert "f-new" in out and "f-old" in out and "2 order(s)" in out


def test_a_status_outside_the_sparse_index_is_listed_by_a_scan_that_says_so(stack: Stack, capsys) -> None:
    stack.put(ledger_item("d-new", "DELIVERED", updated_ago=60))
    stack.put(ledger_item("d-newer", "DELIVERED", updated_ago=30))
    stack.put(ledger_item("d-old", "DELIVERED", updated_ago=2 * 86400))
    stack.put(ledger_item("f-new", "FAILED", updated_ago=60))
    assert "listedStatus" not in ledger_item("d-new", "DELIVERED")  # the workflow keeps DELIVERED out of the index
    assert main(["status", "--status", "DELIVERED", "--since", "24h", "--json"]) == 0
    captured = capsys.readouterr()
    assert [o["orderId"] for o in json.loads(captured.out)["orders"]] == ["d-newer", "d-new"]  # newest first
    assert "not in the sparse status index" in captured.err and "scanning the whole table" in captured.err


def test_history_is_chronological_with_console_links_and_insights_query(stack: Stack, capsys) -> None:
    _bounced_after_a_retry(stack)
    assert main(["history", "o-bounce", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    times = [e["at"] for e in report["entries"]]
    assert times == sorted(times)
    kinds = [(e["source"], e["type"]) for e in report["entries"]]
    assert ("workflow", "DUPLICATE") in kinds and ("SES", "Bounce") in kinds and ("workflow", "RESEND") in kinds
    first = report["attempts"][0]
    arn = execution_arn("b-1")
    assert first["executionArn"] == arn
    assert first["consoleUrl"].startswith(
        f"https://{REGION}.console.aws.amazon.com/states/home?region={REGION}#/express-executions/details/{arn}"
        "?startDate=")
    assert first["consoleUrl"].split("startDate=")[1].isdigit()
    insights = first["logsInsights"]
    assert insights["logGroup"] == names.resource_names("dev")["execution_log_group"]
    assert insights["query"] == (f"fields @timestamp, type, details.name | filter execution_arn = '{arn}' "
                                 "| sort @timestamp asc")


def test_history_human_output(stack: Stack, capsys) -> None:
    _bounced_after_a_retry(stack)
    assert main(["history", "o-bounce"]) == 0
    out = capsys.readouterr().out
    assert "Attempt 1" in out and "Attempt 3" in out
    assert "express-executions/details/" in out and "filter execution_arn" in out
    assert out.index("ATTEMPT_FAILED") < out.index("ATTEMPT_SENT") < out.index("Bounce")


def test_history_of_an_unknown_order_exits_1(stack: Stack, capsys) -> None:
    assert main(["history", "ghost"]) == 1
    assert "not found" in capsys.readouterr().err
