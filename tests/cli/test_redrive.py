"""`ordermail redrive-dlq`: messages move back with the same body and attributes."""

from __future__ import annotations

import json

from tasks import names

from .conftest import Stack, main, order_body


def _dead_letter(stack: Stack, count: int) -> None:
    for n in range(count):
        stack.sqs.send_message(
            QueueUrl=stack.outputs["DeadLetterQueueUrl"], MessageBody=order_body(f"dead-{n}"),
            MessageAttributes={names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String",
                                                                  "StringValue": names.ORDER_EVENT_TYPE}})


def test_redrive_moves_every_message_with_body_and_attributes(stack: Stack, capsys) -> None:
    _dead_letter(stack, 13)
    assert main(["redrive-dlq", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 13
    moved = stack.messages()
    assert sorted(json.loads(m["Body"])["orderId"] for m in moved) == sorted(f"dead-{n}" for n in range(13))
    assert all(m["MessageAttributes"][names.ORDER_EVENT_TYPE_ATTRIBUTE]["StringValue"] == names.ORDER_EVENT_TYPE
               for m in moved)
    assert stack.messages("DeadLetterQueueUrl") == []


def test_redrive_max_limits_the_move(stack: Stack, capsys) -> None:
    _dead_letter(stack, 5)
    assert main(["redrive-dlq", "--max", "2"]) == 0
    assert "moved 2 message(s)" in capsys.readouterr().out
    assert len(stack.messages()) == 2
    assert len(stack.messages("DeadLetterQueueUrl")) == 3


def test_redrive_dry_run_moves_nothing_and_leaves_messages_visible(stack: Stack, capsys) -> None:
    _dead_letter(stack, 3)
    assert main(["redrive-dlq", "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 3 and {m["orderId"] for m in report["messages"]} == {"dead-0", "dead-1", "dead-2"}
    assert stack.messages() == []
    assert len(stack.messages("DeadLetterQueueUrl")) == 3  # visible again right away


def test_redrive_of_an_empty_dlq(stack: Stack, capsys) -> None:
    assert main(["redrive-dlq"]) == 0
    assert "moved 0 message(s)" in capsys.readouterr().out


def test_redrive_max_must_be_positive(stack: Stack) -> None:
    assert main(["redrive-dlq", "--max", "0"]) == 2
