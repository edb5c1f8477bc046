"""Orders by customerId (issue 11 part 5): validation before and after the users-table lookup."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasks.domain.ledger_codec import unpack_request
from tasks.domain.order import (
    CustomerLookupNeeded,
    LookedUpCustomer,
    Reason,
    Rejection,
    validate_order,
)
from tasks.validate import InvalidOrder, handler
from tests.unit.helpers import pipe_event, sample_order

ADDRESS = "kim.lee@example.org"


def by_id(**overrides: Any) -> str:
    order = sample_order(**{"customerId": "c-42", **overrides})
    del order["customerEmail"], order["customerName"]
    return json.dumps(order)


def found(**overrides: Any) -> LookedUpCustomer:
    values: dict[str, Any] = {"email": f"  {ADDRESS} ", "name": " Kim Lee ", "locale": "de_DE"}
    values.update(overrides)
    return LookedUpCustomer(found=True, **values)


def test_without_lookup_configured_customer_email_stays_required() -> None:
    with pytest.raises(Rejection) as caught:
        validate_order(by_id(), default_currency="USD")
    assert caught.value.reason is Reason.MISSING_FIELD
    assert "customerEmail: is required" in caught.value.message and "usersTable" in caught.value.message
    assert caught.value.order_id == "ORD-1001"


def test_first_pass_asks_for_the_lookup_only_once_the_rest_is_valid() -> None:
    with pytest.raises(CustomerLookupNeeded) as caught:
        validate_order(by_id(), default_currency="USD", customer_lookup=True)
    assert (caught.value.order_id, caught.value.customer_id) == ("ORD-1001", "c-42")
    # a broken order is rejected before any read of the users table
    with pytest.raises(Rejection) as rejected:
        validate_order(by_id(total="1.00"), default_currency="USD", customer_lookup=True)
    assert rejected.value.reason is Reason.TOTAL_MISMATCH


@pytest.mark.parametrize("customer_id", ["", "  ", "a\nb", "x" * 129, 42])
def test_unusable_customer_id(customer_id: object) -> None:
    with pytest.raises(Rejection) as caught:
        validate_order(by_id(customerId=customer_id), default_currency="USD", customer_lookup=True)
    assert caught.value.reason in {Reason.INVALID_CUSTOMER_ID, Reason.WRONG_TYPE}
    assert caught.value.message.startswith("customerId: ")


def test_looked_up_customer_is_normalized_like_an_inline_one() -> None:
    valid = validate_order(by_id(), default_currency="USD", customer_lookup=True, customer=found())
    assert valid.order.customer_email == ADDRESS
    assert valid.order.customer_name == "Kim Lee"
    assert valid.normalized["customerId"] == "c-42"
    assert valid.normalized["customerLocale"] == "de-DE"
    # the hash covers what the shop sent, not what the table said
    moved = validate_order(by_id(), default_currency="USD", customer_lookup=True, customer=found(email="k@example.net"))
    assert moved.payload_hash == valid.payload_hash
    assert ADDRESS not in valid.canonical_json


def test_inline_email_wins_over_customer_id_and_normalizes_as_before() -> None:
    plain = validate_order(json.dumps(sample_order()), default_currency="USD", customer_lookup=True)
    with_id = validate_order(json.dumps(sample_order(customerId="c-42")), default_currency="USD", customer_lookup=True)
    assert with_id.order.customer_email == "jane.doe@example.com"
    assert with_id.payload_hash == plain.payload_hash
    assert "customerId" not in with_id.normalized


@pytest.mark.parametrize(
    ("customer", "says"),
    [
        (LookedUpCustomer(found=False), "no such customer"),
        (found(email=None), "no valid e-mail address"),
        (found(email="not-an-address"), "no valid e-mail address"),
        (found(email="kim@"), "no valid e-mail address"),
        (found(name=None), "no valid name"),
        (found(name="Kim\nLee"), "no valid name"),
    ],
)
def test_unknown_customer(customer: LookedUpCustomer, says: str) -> None:
    with pytest.raises(Rejection) as caught:
        validate_order(by_id(), default_currency="USD", customer_lookup=True, customer=customer)
    assert caught.value.reason is Reason.UNKNOWN_CUSTOMER
    assert caught.value.message.startswith('customerId "c-42": ') and says in caught.value.message
    assert "not-an-address" not in caught.value.message and "kim" not in caught.value.message.lower()


def test_inline_name_fills_in_when_the_table_has_none_and_bad_locale_is_dropped() -> None:
    order = json.loads(by_id())
    order["customerName"] = "Kim"
    valid = validate_order(json.dumps(order), default_currency="USD", customer_lookup=True,
                           customer=found(name=None, locale="not a locale!"))
    assert valid.order.customer_name == "Kim"
    assert "customerLocale" not in valid.normalized


# --- the Validate Lambda's two passes --------------------------------------------------------------


def _item(**attributes: str) -> dict[str, Any]:
    return {"Item": {name: {"S": value} for name, value in attributes.items()}}


ATTRIBUTES = {"email": "mail", "name": "fullName", "locale": ""}


def test_handler_first_pass_returns_needs_lookup(lambda_context: Any) -> None:
    event = {**pipe_event(by_id()), "customerLookup": True}
    assert handler(event, lambda_context) == {"needsLookup": True, "orderId": "ORD-1001", "customerId": "c-42"}


def test_handler_second_pass_merges_the_projected_attributes(lambda_context: Any) -> None:
    event = {**pipe_event(by_id()), "customer": _item(mail=ADDRESS, fullName="Kim Lee"), "attributes": ATTRIBUTES}
    validated = handler(event, lambda_context)
    assert validated["recipient"] == ADDRESS
    assert validated["order"]["customerName"] == "Kim Lee"
    # the stored request is the body as sent: a replay looks the customer up again
    assert ADDRESS not in unpack_request(validated["requestZ"])


@pytest.mark.parametrize(
    "customer",
    [{}, _item(fullName="Kim Lee"), {"Item": {"mail": {"N": "1"}, "fullName": {"S": "Kim"}}}],
)
def test_handler_second_pass_unknown_customer_is_an_invalid_order(customer: dict[str, Any], lambda_context: Any) -> None:
    event = {**pipe_event(by_id()), "customer": customer, "attributes": ATTRIBUTES}
    with pytest.raises(InvalidOrder) as caught:
        handler(event, lambda_context)
    document = json.loads(str(caught.value))
    assert (document["reason"], document["key"]) == ("unknown_customer", "ORD-1001")
    assert "c-42" in document["message"]
