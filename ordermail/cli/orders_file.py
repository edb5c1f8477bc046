"""Reading order JSON for `publish`: one object, an array of objects, or JSON lines.

Everything is parsed and checked before anything is published, and each order is published with
its original text (no float round-trip: money stays exactly as the order service wrote it).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordermail.cli.errors import UsageError

SNS_MAX_BYTES = 256 * 1024  # SNS message size limit (body plus attributes)
_ATTRIBUTE_ALLOWANCE = 256  # bytes kept for the eventType attribute


@dataclass(frozen=True)
class Order:
    body: str  # the order's JSON text, as given
    order_id: str | None

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8"))


def read_source(source: str) -> tuple[str, str]:
    """(text, label) from a path or `-` (stdin)."""
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig"), str(path)  # -sig: tolerate a BOM
    except FileNotFoundError as exc:
        raise UsageError(f"{source}: no such file") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{source}: is a directory") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"{source}: cannot read ({exc.strerror or exc})") from exc


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _values(text: str, label: str) -> list[tuple[Any, str, int]]:
    """Every top-level JSON value with its exact text and line: one value, or JSON lines."""
    decoder = json.JSONDecoder()
    values: list[tuple[Any, str, int]] = []
    index = _skip_ws(text, 0)
    while index < len(text):
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{label}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        values.append((value, text[index:end], text.count("\n", 0, index) + 1))
        index = _skip_ws(text, end)
    return values


def _array_elements(text: str, start: int, label: str) -> list[tuple[Any, str, int]]:
    """The elements of the array whose `[` is at `start`, each with its exact text."""
    decoder = json.JSONDecoder()
    elements: list[tuple[Any, str, int]] = []
    index = _skip_ws(text, start + 1)
    if index < len(text) and text[index] == "]":
        return elements
    while True:
        value, end = decoder.raw_decode(text, index)  # already validated as a whole
        elements.append((value, text[index:end], text.count("\n", 0, index) + 1))
        index = _skip_ws(text, end)
        if text[index] == "]":
            return elements
        index = _skip_ws(text, index + 1)  # past the comma


def parse_orders(text: str, label: str) -> list[Order]:
    values = _values(text, label)
    if not values:
        raise UsageError(f"{label}: no orders (empty input)")
    items: list[tuple[Any, str, int]]
    if len(values) == 1 and isinstance(values[0][0], list):
        items = _array_elements(text, _skip_ws(text, 0), label)
        if not items:
            raise UsageError(f"{label}: no orders (empty array)")
    else:
        items = values
    orders: list[Order] = []
    for number, (value, raw, line) in enumerate(items, 1):
        if not isinstance(value, dict):
            raise UsageError(f"{label}: order #{number} (line {line}) is a JSON {type(value).__name__}, "
                             "expected an object")
        order_id = value.get("orderId")
        order = Order(body=raw, order_id=str(order_id) if order_id is not None else None)
        if order.size + _ATTRIBUTE_ALLOWANCE > SNS_MAX_BYTES:
            raise UsageError(f"{label}: order #{number} (line {line}) is {order.size} bytes, over SNS's "
                             f"{SNS_MAX_BYTES // 1024} KiB message limit")
        orders.append(order)
    return orders


def load_orders(source: str) -> list[Order]:
    text, label = read_source(source)
    return parse_orders(text, label)
