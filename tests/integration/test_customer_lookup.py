"""Customer lookup by id on the runtime (issue 11 part 5): the real ASL with the lookup states,
the Validate Lambda's two passes, the sample users table, IAM enforced from the template
synthesized with the same usersTable context."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.users_table import SAMPLE_CUSTOMERS, sample_table_name
from tests.integration.conftest import Harness, make_order
from tests.unit import conftest as unit_fixtures

ADA = SAMPLE_CUSTOMERS[0]
captured_logs = unit_fixtures.captured_logs  # the Powertools logger's output, at INFO


def by_id(customer_id: str, **overrides: Any) -> dict[str, Any]:
    order = make_order(customerId=customer_id, **overrides)
    del order["customerEmail"], order["customerName"]
    return order


@pytest.fixture(scope="module")
def lookup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    options = RuntimeOptions(outbox_dir=tmp_path_factory.mktemp("outbox"), time_scale=0.005, max_receive_count=2,
                             sample_users=True)
    with LocalRuntime(options) as runtime:
        yield Harness(runtime)


def html_of(harness: Harness, order_id: str) -> str:
    """The rendered mail as the outbox kept it (in dev the SES sandbox redirects the envelope)."""
    (path,) = harness.runtime.options.outbox_dir.glob(f"{order_id}-*.html")
    return path.read_text(encoding="utf-8")


def test_found_customer_is_mailed_at_the_tables_address(lookup: Harness, captured_logs: io.StringIO) -> None:
    order = by_id(ADA["customerId"])
    lookup.publish(order)
    lookup.settle()
    view = lookup.view(order["orderId"])
    assert view["status"] in {"SENT", "DELIVERED"}
    assert view["recipient"] == ADA["email"]  # Claim stored it: the request has only the id
    assert len(lookup.mails_for(order["orderId"])) == 1
    assert ADA["name"] in html_of(lookup, order["orderId"])
    assert json.loads(lookup.request(order["orderId"])) == order  # the body as sent
    assert '"message":"customer to be looked up"' in captured_logs.getvalue()  # the capture works
    assert ADA["email"] not in captured_logs.getvalue()  # the handlers log a fingerprint, never the looked-up address


@pytest.mark.parametrize("customer_id", ["c-missing", "c-1003"])  # no item; an item without an address
def test_unknown_customer_is_invalid(lookup: Harness, customer_id: str) -> None:
    order = by_id(customer_id)
    lookup.publish(order)
    lookup.settle()
    item = lookup.item(order["orderId"])
    assert item is not None and item["status"] == "INVALID"
    assert item["invalidReason"] == "unknown_customer"
    assert customer_id in item["invalidMessage"]
    assert lookup.mails_for(order["orderId"]) == []


def test_inline_email_wins_over_the_customer_id(lookup: Harness) -> None:
    order = make_order(customerId=ADA["customerId"], email="inline.buyer@example.org")
    lookup.publish(order)
    lookup.settle()
    assert lookup.view(order["orderId"])["recipient"] == "inline.buyer@example.org"
    assert len(lookup.mails_for(order["orderId"])) == 1
    assert "Ana Silva" in html_of(lookup, order["orderId"])


def test_replay_of_a_looked_up_order_looks_the_customer_up_again(lookup: Harness) -> None:
    order = by_id(ADA["customerId"])
    lookup.publish(order)
    lookup.settle()
    # The customer moves; the replayed request (what `ordermail resend` enqueues) still has only the id.
    table = sample_table_name("dev")
    lookup.ddb.update_item(TableName=table, Key={"customerId": {"S": "c-1002"}},
                           UpdateExpression="SET email = :e", ExpressionAttributeValues={":e": {"S": "jo.new@example.com"}})
    moved = by_id("c-1002")
    lookup.publish(moved)
    lookup.settle()
    lookup.enqueue(lookup.request(moved["orderId"]), **{"ordermailResendId": "r-lookup-1"})
    lookup.settle()
    mails = lookup.mails_for(moved["orderId"])
    assert len(mails) == 2 and lookup.view(moved["orderId"])["status"] in {"SENT", "DELIVERED"}
    assert lookup.view(moved["orderId"])["recipient"] == "jo.new@example.com"
