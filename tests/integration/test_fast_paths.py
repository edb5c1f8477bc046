"""The fast-mode paths through moto (ordermail/emulator/fastpaths.py) must not change one result.

Each scenario runs twice on a fresh moto: stock, then with the fast paths installed, and every
response (or error code and message) and the final table must be identical. The scenarios repeat
one expression with other values, names and items, so a cache that kept anything request-specific
(values substituted into a shared tree, a validation passed for other names or another table, the
item as it was) would answer differently.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.parsing import ast_nodes
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from ordermail.emulator.seams import Patches, fastpaths

REGION = "us-east-1"
CLAIM = (
    "SET #status = :processing, #token = :token, #timeline = list_append(if_not_exists(#timeline, :empty), :entry), "
    "#createdAt = if_not_exists(#createdAt, :at), #updatedAt = :at ADD #attempts :one, #version :one "
    "REMOVE #lastError"
)
CLAIM_CONDITION = "attribute_not_exists(#orderId) OR #status IN (:failed) OR (#status = :processing AND #lease < :now)"


def _claim_names(**overrides: str) -> dict[str, str]:
    names = {
        "#status": "status", "#token": "claimToken", "#timeline": "timeline", "#createdAt": "createdAt",
        "#updatedAt": "updatedAt", "#attempts": "attemptCount", "#version": "version", "#lastError": "lastError",
        "#orderId": "orderId", "#lease": "leaseUntil",
    }
    names.update(overrides)
    return names


def _claim_values(token: str, at: str, now: int = 100) -> dict[str, Any]:
    return {
        ":processing": {"S": "PROCESSING"}, ":failed": {"S": "FAILED"}, ":token": {"S": token},
        ":empty": {"L": []}, ":entry": {"L": [{"M": {"type": {"S": "CLAIMED"}, "at": {"S": at}}}]},
        ":at": {"S": at}, ":one": {"N": "1"}, ":now": {"N": str(now)},
    }


def _requests() -> list[tuple[str, dict[str, Any]]]:
    table = "ledger"
    out: list[tuple[str, dict[str, Any]]] = []

    def update(order_id: str, expression: str, names: dict[str, str], values: dict[str, Any] | None,
               condition: str | None = None, **extra: Any) -> None:
        request: dict[str, Any] = {"TableName": table, "Key": {"orderId": {"S": order_id}},
                                   "UpdateExpression": expression, "ExpressionAttributeNames": names}
        if values is not None:
            request["ExpressionAttributeValues"] = values
        if condition is not None:
            request["ConditionExpression"] = condition
        request.update(extra)
        out.append(("update_item", request))

    for order, token in (("o-1", "exec-1"), ("o-2", "exec-2"), ("o-1", "exec-3")):
        # The third claims o-1 again: the condition fails after two cached successes.
        update(order, CLAIM, _claim_names(), _claim_values(token, f"2026-01-0{len(out) + 1}"), CLAIM_CONDITION,
               ReturnValuesOnConditionCheckFailure="ALL_OLD")
    # Same expression, other names: the placeholders point at other attributes.
    update("o-3", CLAIM, _claim_names(**{"#status": "state", "#timeline": "history"}),
           _claim_values("exec-4", "2026-02-01"), CLAIM_CONDITION)
    # Same expression, but #token now names the key: refused although it passed before.
    update("o-4", CLAIM, _claim_names(**{"#token": "orderId"}), _claim_values("exec-5", "2026-02-02"),
           CLAIM_CONDITION)
    # Same expression and names on a table whose key is claimToken: refused there.
    out.append(("update_item", {"TableName": "tokens", "Key": {"claimToken": {"S": "t-1"}}, "UpdateExpression": CLAIM,
                                "ExpressionAttributeNames": _claim_names(),
                                "ExpressionAttributeValues": _claim_values("exec-5", "2026-02-02"),
                                "ConditionExpression": CLAIM_CONDITION}))
    # Same expression, names that now overlap: refused although it passed before.
    for second in ("y", "x", "x.z"):
        update("o-4", "SET #a = :v, #b = :w", {"#a": "x", "#b": second}, {":v": {"S": "1"}, ":w": {"S": "2"}})
    # Same expression, a value missing, then a value of the wrong type for list_append.
    values = _claim_values("exec-6", "2026-02-03")
    del values[":entry"]
    update("o-5", CLAIM, _claim_names(), values, CLAIM_CONDITION)
    update("o-5", CLAIM, _claim_names(), {**_claim_values("exec-6", "2026-02-03"), ":entry": {"S": "x"}},
           CLAIM_CONDITION)
    # Every ReturnValues on the same expression, on an existing and on a new item.
    sent = "SET #status = :sent, #messageId = :id ADD #version :one"
    sent_names = {"#status": "status", "#messageId": "messageId", "#version": "version"}
    for index, return_values in enumerate(("NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW")):
        for order in ("o-1", f"new-{index}"):
            update(order, sent, sent_names, {":sent": {"S": "SENT"}, ":id": {"S": f"m-{index}"}, ":one": {"N": "1"}},
                   ReturnValues=return_values)
    # Optimistic concurrency (the feedback handler): the version condition, then a stale version.
    for seen in ("6", "6"):
        update("o-1", "SET #a0 = :v0 ADD #version :one", {"#a0": "deliveryStatus", "#version": "version"},
               {":v0": {"S": "DELIVERED"}, ":one": {"N": "1"}, ":seen": {"N": seen}}, "#version = :seen",
               ReturnValues="ALL_NEW")
    # Expressions moto refuses (each twice: errors are never cached as successes).
    for _ in range(2):
        update("o-1", "SET #a = :v, #a = :w", {"#a": "x"}, {":v": {"S": "1"}, ":w": {"S": "2"}})
        update("o-1", "SET a = :v ADD b :one ADD c :one", {}, {":v": {"S": "1"}, ":one": {"N": "1"}})
        update("o-1", "SET a.b = :v, a = :w", {}, {":v": {"S": "1"}, ":w": {"S": "2"}})
        update("o-1", "SET #x = = :v", {"#x": "x"}, {":v": {"S": "1"}})
        update("o-1", "SET #m.#n = :v", {"#m": "missing", "#n": "n"}, {":v": {"S": "1"}})
    # Nested paths, arithmetic, list index, DELETE from a set, REMOVE of list elements.
    update("o-6", "SET #m = :m, #l = :l, #n = :n, #s = :s", {"#m": "m", "#l": "l", "#n": "n", "#s": "s"},
           {":m": {"M": {"a": {"N": "1"}}}, ":l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}, ":n": {"N": "5"},
            ":s": {"SS": ["x", "y"]}})
    for step in ("2", "3"):
        update("o-6", "SET #m.#a = #m.#a + :d, #n = #n - :d, #l[0] = :v REMOVE #l[2] DELETE #s :x",
               {"#m": "m", "#a": "a", "#n": "n", "#l": "l", "#s": "s"},
               {":d": {"N": step}, ":v": {"S": f"v{step}"}, ":x": {"SS": ["x"]}}, ReturnValues="UPDATED_NEW")
    out.append(("get_item", {"TableName": table, "Key": {"orderId": {"S": "o-1"}}, "ConsistentRead": True}))
    return out


def _run(install: Callable[[Patches], None] | None) -> list[Any]:
    patches = Patches()
    results: list[Any] = []
    with mock_aws():
        if install is not None:
            install(patches)
        try:
            client = boto3.client("dynamodb", region_name=REGION)
            client.create_table(
                TableName="ledger", BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            )
            client.create_table(
                TableName="tokens", BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "claimToken", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "claimToken", "KeyType": "HASH"}],
            )
            for action, request in _requests():
                try:
                    response = getattr(client, action)(**copy.deepcopy(request))
                    response.pop("ResponseMetadata", None)
                    results.append(("ok", response))
                except ClientError as error:
                    results.append(("error", error.response["Error"], error.response.get("Item")))
            for table, key in (("ledger", "orderId"), ("tokens", "claimToken")):
                items = client.scan(TableName=table)["Items"]
                results.append(("table", sorted(items, key=lambda item, key=key: item[key]["S"])))
        finally:
            patches.undo()
    return results


def test_fast_paths_answer_exactly_like_stock_moto() -> None:
    stock = _run(None)
    fast = _run(fastpaths.install_fast_paths)
    assert [entry[0] for entry in stock].count("error") >= 12  # the scenarios do exercise the failures
    for index, (expected, actual) in enumerate(zip(stock, fast, strict=True)):
        assert actual == expected, f"request {index}: {_requests()[index] if index < len(_requests()) else 'table'}"


def test_cached_parse_is_never_modified_by_validation() -> None:
    stock = _run(None)
    patches = Patches()
    fastpaths.install_fast_paths(patches)
    try:
        first = UpdateExpressionParser.make(CLAIM)
        before = _shape(first)
        assert _run(None) == stock  # warm caches: every answer still the stock one
        assert _run(None) == stock
        assert UpdateExpressionParser.make(CLAIM) is first
        assert _shape(first) == before  # no values substituted into the shared tree
    finally:
        patches.undo()
    assert UpdateExpressionParser.make(CLAIM) is not UpdateExpressionParser.make(CLAIM)  # stock again


def _shape(node: Any) -> Any:
    if isinstance(node, ast_nodes.Node):
        return (type(node).__name__, [_shape(child) for child in node.children or []])
    return repr(node)


def test_patches_undo_restores_every_fast_path() -> None:
    originals = {name: vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr)
                 for name, (owner, attr) in fastpaths.SEAMS.items()}
    patches = Patches()
    fastpaths.install_fast_paths(patches)
    patches.undo()
    for name, (owner, attr) in fastpaths.SEAMS.items():
        now = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr)
        assert now is originals[name], name
    assert isinstance(vars(UpdateExpressionParser)["make"], classmethod)  # not left as a bound method
    assert "validate" not in vars(fastpaths.validators.UpdateExpressionValidator)  # inherited again


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, None, True, "x"], "b": {"c": {"d": []}}},
    [{"k": "v"}, ({"t": [1]}, 2), "s"],
    json.loads('{"records": [{"body": "{\\"orderId\\": \\"o-1\\"}", "attributes": {"n": "1"}}]}'),
])
def test_json_deepcopy_is_deepcopy(value: Any) -> None:
    copied = fastpaths.json_deepcopy(value)
    assert copied == copy.deepcopy(value)
    _assert_disjoint(value, copied)


def test_json_deepcopy_keeps_shared_objects_shared() -> None:
    shared = {"x": [1]}
    value = {"a": shared, "b": [shared, shared]}
    copied = fastpaths.json_deepcopy(value)
    assert copied["a"] is copied["b"][0] is copied["b"][1]
    assert copied["a"] is not shared


def test_tree_deepcopy_is_deepcopy() -> None:
    tree = UpdateExpressionParser.make(CLAIM)
    copied = fastpaths.tree_deepcopy(tree)
    assert _shape(copied) == _shape(copy.deepcopy(tree)) == _shape(tree)

    def parents(node: Any, parent: Any) -> None:
        if isinstance(node, ast_nodes.Node):
            assert node.parent is parent
            for child in node.children or []:
                parents(child, node)

    parents(copied, None)
    _assert_disjoint(tree, copied)


def _assert_disjoint(original: Any, copied: Any) -> None:
    def containers(value: Any, seen: set[int]) -> set[int]:
        if isinstance(value, (dict, list, tuple, ast_nodes.Node)) and id(value) not in seen:
            seen.add(id(value))
            children = (value.values() if isinstance(value, dict) else
                        vars(value).values() if isinstance(value, ast_nodes.Node) else value)
            for child in children:
                containers(child, seen)
        return seen

    mutable = {i for i in containers(original, set())}
    assert not (mutable & containers(copied, set())) - {id(())}
