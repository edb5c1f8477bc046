"""`ordermail local --sample-users`: an order by customerId published through the CLI is mailed to
the sample table's customer, and `ordermail status` shows the recipient the lookup found."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator

import pytest

from ordermail.emulator.users_table import SAMPLE_CUSTOMERS
from ordermail.samples import LOOKUP_SAMPLE

from .conftest import Server, new_id, start_server, stop_server


@pytest.fixture(scope="module")
def lookup_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("ordermail-lookup"), "--sample-users", "--iam-report")
    yield running
    code = stop_server(running)
    assert code == 0, running.log_tail()
    assert "  0 denied (action, resource) pair(s)" in running.log_tail(200), running.log_tail(200)


def test_order_by_customer_id_through_the_cli(lookup_server: Server) -> None:
    found = {**LOOKUP_SAMPLE.order, "orderId": new_id("lookup")}
    unknown = {**LOOKUP_SAMPLE.order, "orderId": new_id("lookup-unknown"), "customerId": "c-nobody"}
    lookup_server.publish(found, unknown)
    lookup_server.wait_status(found["orderId"], "DELIVERED")
    status = lookup_server.cli_json("status", found["orderId"])
    assert status["recipient"] == SAMPLE_CUSTOMERS[0]["email"]
    (mail,) = lookup_server.mails_for(found["orderId"])
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None and SAMPLE_CUSTOMERS[0]["name"] in body.get_content()
    invalid = lookup_server.wait_status(unknown["orderId"], "INVALID")
    assert invalid["invalidReason"] == "unknown_customer"
