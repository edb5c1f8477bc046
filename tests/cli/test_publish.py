"""`ordermail publish`: object, array, JSON lines; bad input publishes nothing and exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks import names

from .conftest import Stack, main, order_body


def _published(stack: Stack) -> list[dict]:
    return stack.messages()


def test_one_object_is_published_with_the_event_type_attribute(stack: Stack, tmp_path: Path, capsys) -> None:
    path = tmp_path / "order.json"
    path.write_text(order_body("o-1"), encoding="utf-8")
    assert main(["publish", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["published"] == 1 and report["messages"][0]["orderId"] == "o-1"
    [message] = _published(stack)
    assert message["Body"] == order_body("o-1")  # the original text, byte for byte
    attribute = message["MessageAttributes"][names.ORDER_EVENT_TYPE_ATTRIBUTE]
    assert attribute == {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}


def test_an_array_publishes_each_element_with_its_exact_text(stack: Stack, tmp_path: Path, capsys) -> None:
    # 10.50 must stay 10.50: money is never round-tripped through float.
    elements = [order_body(f"o-{n}").replace('"25.00"', "25.00") for n in range(12)]
    path = tmp_path / "orders.json"
    path.write_text("[\n  " + ",\n  ".join(elements) + "\n]\n", encoding="utf-8")
    assert main(["publish", str(path)]) == 0
    assert "published 12 orders" in capsys.readouterr().out
    bodies = sorted(m["Body"] for m in _published(stack))
    assert bodies == sorted(elements)
    assert all('"total": 25.00' in body for body in bodies)


def test_json_lines_from_stdin(stack: Stack, monkeypatch, capsys) -> None:
    import io

    lines = "\n".join(order_body(f"line-{n}") for n in range(3)) + "\n\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["publish", "-", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [m["orderId"] for m in report["messages"]] == ["line-0", "line-1", "line-2"]
    assert len(_published(stack)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (order_body("ok-1") + '\n{"orderId": "broken" oops}\n', "invalid JSON at line 2 column 22"),
        ("[" + order_body("ok-1") + ", 42]", "order #2 (line 1) is a JSON int, expected an object"),
        ("", "no orders"),
        ("[]", "no orders (empty array)"),
        ('"just a string"', "expected an object"),
    ],
)
def test_bad_json_exits_2_and_publishes_nothing(stack: Stack, tmp_path: Path, capsys, content: str,
                                               message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    assert main(["publish", str(path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1  # one clear line, no traceback
    assert captured.out == ""
    assert _published(stack) == []


def test_missing_file_exits_2(stack: Stack, tmp_path: Path, capsys) -> None:
    assert main(["publish", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert _published(stack) == []


def test_oversized_order_is_refused_before_publishing(stack: Stack, tmp_path: Path, capsys) -> None:
    big = json.dumps({"orderId": "big", "metadata": {"blob": "x" * (257 * 1024)}})
    path = tmp_path / "orders.jsonl"
    path.write_text(order_body("small") + "\n" + big + "\n", encoding="utf-8")
    assert main(["publish", str(path)]) == 2
    assert "256 KiB" in capsys.readouterr().err
    assert _published(stack) == []


def test_bad_file_exits_2_even_without_a_stack(aws: None, tmp_path: Path, capsys) -> None:
    # Parsing comes first: a bad file is reported as such, not as a missing stack.
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    assert main(["publish", str(path)]) == 2
