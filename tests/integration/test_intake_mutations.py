"""Issue 11 mutation tests: the orders API's role without sns:Publish, the orders queue without the
rule's statement — each failure shows where it would on AWS, and nothing reaches the workflow."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ordermail.emulator.iam.template import synthesized_template
from tests.integration.conftest import Harness, make_order
from tests.integration.test_iam_mutations import _start, drop_action, drop_statement
from tests.integration.test_intake_events import put_order
from tests.integration.test_intake_http import signed_post

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def mutated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    template: dict[str, Any] = copy.deepcopy(synthesized_template("dev"))
    drop_action(template, "OrdersApiPublishRoleDefaultPolicy", "sns:Publish")
    drop_statement(template, "AWS::SQS::QueuePolicy", "IngressOrdersQueuePolicy",
                   lambda s: s.get("Sid") == "AllowOrderEventsRule")
    runtime = _start(tmp_path_factory.mktemp("outbox"), template)
    try:
        yield Harness(runtime)
    finally:
        runtime.stop()


def test_api_role_without_publish_answers_502_and_publishes_nothing(mutated: Harness) -> None:
    runtime = mutated.runtime
    order = make_order()
    status, body = signed_post(runtime.outputs["OrdersApiUrl"], json.dumps(order).encode())
    assert status == 502, body  # SNS's 403 is not the caller's fault
    assert runtime.orders_api is not None and runtime.orders_api.published == 0
    denied = runtime.iam.usage.denied()  # type: ignore[union-attr]
    assert ("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:ordermail-dev-orders") in denied["orders-api"]
    mutated.settle()
    assert mutated.item(order["orderId"]) is None


def test_rule_without_the_queue_statement_never_reaches_the_queue(mutated: Harness) -> None:
    order = make_order()
    put_order(mutated.runtime, order)
    denied = mutated.runtime.iam.usage.denied()  # type: ignore[union-attr]
    assert ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:ordermail-dev-orders") in denied["events.amazonaws.com"]
    mutated.settle()
    assert mutated.item(order["orderId"]) is None
    assert not any(order["orderId"] in body for body in mutated.dlq_bodies())
