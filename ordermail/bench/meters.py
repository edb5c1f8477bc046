"""The benchmark's instruments, installed on a running runtime (`LocalRuntime.install`): API requests
by service and action with the CPU time moto spent on each, and the DynamoDB capacity units every
request would consume on AWS. Tests use the request counter too (how many SendEmail calls)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler

from tasks import names

if TYPE_CHECKING:
    from ordermail.emulator.seams import Patches

SEAMS: dict[str, tuple[object, str]] = {
    "api_call_action": (BaseResponse, "call_action"),
    **{f"dynamodb_handler_{action}": (DynamoHandler, action)
       for action in ("put_item", "update_item", "delete_item", "get_item", "query")},
}

PACING_TABLE_SUFFIX = names.resource_names("dev")["pacing_table"].removeprefix(f"{names.SERVICE_NAME}-dev")  # "-send-pacing"


class ApiCounter:
    """Requests moto served, by (service, action), and the CPU time moto spent serving them. Thread-safe.

    `cpu_seconds` is exclusive: a request served inside another (SNS delivering to a Lambda function
    whose handler calls DynamoDB) is charged to itself, not to the outer one. It is the thread CPU
    time of the server side only (plus, for Lambda Invoke and SNS Publish to a function, the handler
    run in-process); the caller's botocore serialization and parsing are not included.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.cpu_seconds: Counter[tuple[str, str]] = Counter()
        self._local = threading.local()

    def add(self, service: str, action: str) -> None:
        with self._lock:
            self.calls[(service, action)] += 1

    def timed(self, key: tuple[str, str], call: Callable[[], Any]) -> Any:
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(0.0)  # CPU time of nested requests, to subtract
        started = time.thread_time()
        try:
            return call()
        finally:
            spent = time.thread_time() - started
            nested = stack.pop()
            if stack:
                stack[-1] += spent
            with self._lock:
                self.cpu_seconds[key] += spent - nested

    def cpu_snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            out: dict[str, dict[str, float]] = {}
            for (service, action), seconds in sorted(self.cpu_seconds.items()):
                out.setdefault(service, {})[action] = seconds
            return out

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (service, action), count in sorted(self.calls.items()):
                out.setdefault(service, {})[action] = count
            return out

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.cpu_seconds.clear()

    def install(self, patches: Patches) -> None:
        install_api_counter(patches, self)


def install_api_counter(patches: Patches, counter: ApiCounter) -> None:
    """Seam `api_call_action`: count every API request moto serves, in-process or over HTTP."""
    original = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        key = ("unknown", "unknown")
        with contextlib.suppress(Exception):  # counting must never break a request
            key = (self.service_name or "unknown", self._get_action())
            counter.add(*key)
        return counter.timed(key, lambda: original(self))

    patches.replace(BaseResponse, "call_action", call_action)


class CapacityMeter:
    """DynamoDB capacity units the requests moto served would consume on AWS (on-demand mode).

    Writes (PutItem, UpdateItem, DeleteItem): 1 write unit per started KB of the larger of the item
    before and after the write, at least 1 (a write refused by its condition is billed on the item
    as it was), plus 1 unit per global secondary index entry written or deleted (an index key that
    changes is a delete and a put; KEYS_ONLY entries are far below 1 KB). Reads: 1 read unit per
    started 4 KB (GetItem: the item; Query: the items returned), half for eventually consistent
    reads. Item sizes follow DynamoDB's rules (`_value_size`: binary counts its raw bytes, lists and
    maps their overhead), not moto's `Item.size()`, which counts binary as base64 and skips the
    overhead. Throttled requests (injected faults) never reach the meter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.write_units = 0.0
        self.index_write_units = 0.0
        self.read_units = 0.0
        self.pacing_write_units = 0.0  # the send-pacing table's, apart: not the ledger's (docs/PACING.md)
        self.requests: Counter[str] = Counter()

    def add(self, action: str, *, write: float = 0.0, index: float = 0.0, read: float = 0.0,
            pacing: bool = False) -> None:
        with self._lock:
            self.requests[action] += 1
            if pacing:
                self.pacing_write_units += write
                return
            self.write_units += write
            self.index_write_units += index
            self.read_units += read

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "write_units": self.write_units,
                "index_write_units": self.index_write_units,
                "pacing_write_units": self.pacing_write_units,
                "read_units": self.read_units,
                "requests": dict(self.requests),
            }

    def reset(self) -> None:
        with self._lock:
            self.write_units = self.index_write_units = self.read_units = self.pacing_write_units = 0.0
            self.requests.clear()

    def install(self, patches: Patches) -> None:
        install_ddb_capacity_meter(patches, self)


def _metered_item(handler: DynamoHandler, key: dict[str, Any] | None) -> tuple[Any, Any]:
    """(table, stored item or None) for a request's key; (None, None) when it cannot be resolved."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = handler.dynamodb_backend.get_table(handler.body["TableName"])
        if not key or table.hash_key_attr not in key:
            return table, None
        hash_value = DynamoType(key[table.hash_key_attr])
        range_attr = table.range_key_attr
        range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
        return table, table.get_item(hash_value, range_value)
    except Exception:
        return None, None


def _index_entries(table: Any, item: Any) -> list[tuple[str, Any]]:
    """(index name, key values) of every global secondary index entry the item has."""
    if table is None or item is None:
        return []
    entries = []
    for index in table.global_indexes:
        attributes = [element["AttributeName"] for element in index.schema]
        if all(name in item.attrs for name in attributes):
            entries.append((index.name, tuple(str(item.attrs[name].value) for name in attributes)))
    return entries


def _kb_units(size: float, unit: int) -> float:
    return float(max(1, -(-int(size) // unit)))


def install_ddb_capacity_meter(patches: Patches, meter: CapacityMeter) -> None:
    """Seam `dynamodb_handler`: meter the capacity units of item reads and writes (see CapacityMeter).

    Installed innermost (RuntimeOptions.instruments), so a throttled request never reaches it.
    """
    for action in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoHandler, action)

        def metered_write(self: DynamoHandler, _original: Any = original, _action: str = action) -> Any:
            key = self.body.get("Key")
            if key is None and isinstance(self.body.get("Item"), dict):
                key = self.body["Item"]
            table, before = _metered_item(self, key)
            pacing = str(self.body.get("TableName", "")).endswith(PACING_TABLE_SUFFIX)
            size_before = item_size(before)
            entries_before = set(_index_entries(table, before))
            try:
                result = _original(self)
            except Exception as exc:
                if "ConditionalCheckFailed" in type(exc).__name__:
                    meter.add(_action, write=_kb_units(size_before, 1024), pacing=pacing)
                raise
            _, after = _metered_item(self, key)
            size_after = item_size(after)
            entries_after = set(_index_entries(table, after))
            changed = len(entries_before ^ entries_after)  # a changed key: one delete + one put
            meter.add(_action, write=_kb_units(max(size_before, size_after), 1024), index=float(changed),
                      pacing=pacing)
            return result

        patches.replace(DynamoHandler, action, metered_write)

    for action in ("get_item", "query"):
        original = getattr(DynamoHandler, action)

        def metered_read(self: DynamoHandler, _original: Any = original, _action: str = action) -> Any:
            result = _original(self)
            try:
                body = result.result if hasattr(result, "result") else json.loads(result)
                items = [body["Item"]] if body.get("Item") else list(body.get("Items") or [])
                size = sum(_attrs_size(item) for item in items)
                factor = 1.0 if self.body.get("ConsistentRead") else 0.5
                meter.add(_action, read=_kb_units(size, 4096) * factor)
            except Exception:  # noqa: S110 - metering must never break a request
                pass
            return result

        patches.replace(DynamoHandler, action, metered_read)


def _value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in its JSON form (the developer guide's
    "item size" rules: UTF-8 strings, raw binary, ~1 byte per 2 significant digits of a number plus
    1, 1 for BOOL/NULL, 3 bytes per List/Map plus 1 per element)."""
    (kind, raw), = value.items()
    if kind == "S":
        return len(str(raw).encode("utf-8"))
    if kind == "B":
        return len(base64.b64decode(raw)) if isinstance(raw, str) else len(bytes(raw))
    if kind == "N":
        digits = str(raw).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in raw)
    if kind == "L":
        return 3 + sum(_value_size(element) + 1 for element in raw)
    if kind == "M":
        return 3 + sum(len(key.encode("utf-8")) + _value_size(element) + 1 for key, element in raw.items())
    return 0


def _attrs_size(attributes: Any) -> int:
    """The item size DynamoDB bills, from an item in its JSON form ({name: {type: value}})."""
    return sum(len(str(name).encode("utf-8")) + _value_size(value) for name, value in dict(attributes).items())


def item_size(item: Any) -> int:
    """The billed size of a stored moto item (0 when there is none)."""
    return 0 if item is None else _attrs_size(item.to_json()["Attributes"])
