"""Mutation test: the state machine role without its GetItem on the users table (a runtime of its own)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.users_table import SAMPLE_CUSTOMERS, iam_template
from tests.integration.conftest import Harness
from tests.integration.test_customer_lookup import by_id


def _until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_without_the_get_item_grant_the_order_is_retried_not_invalid(tmp_path_factory: pytest.TempPathFactory) -> None:
    options = RuntimeOptions(outbox_dir=tmp_path_factory.mktemp("outbox"), time_scale=0.005, max_receive_count=2,
                             sample_users=True)
    mutated = copy.deepcopy(iam_template(options))
    assert mutated is not None
    removed = 0
    for resource in mutated["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            kept = [s for s in statements if s.get("Sid") != "ReadCustomers"]
            removed += len(statements) - len(kept)
            resource["Properties"]["PolicyDocument"]["Statement"] = kept
    assert removed == 1
    runtime = LocalRuntime(RuntimeOptions(outbox_dir=options.outbox_dir, time_scale=0.005, max_receive_count=2,
                                          sample_users=True, iam_template=mutated))
    with runtime:
        harness = Harness(runtime)
        order = by_id(SAMPLE_CUSTOMERS[0]["customerId"])
        body = json.dumps(order)
        harness.enqueue(body)
        # Access denied fails the execution before Claim: SQS redelivers, then the DLQ keeps it.
        assert _until(lambda: body in harness.dlq_bodies())
        assert harness.item(order["orderId"]) is None
        assert harness.mails_for(order["orderId"]) == []
