"""The order model against tables of good and bad inputs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tasks.domain.order import (
    MAX_BODY_BYTES,
    Reason,
    Rejection,
    canonical_json,
    order_from_normalized,
    sha256_hex,
    validate_order,
)
from tests.unit.helpers import sample_order


def accept(order: dict[str, Any] | str, default_currency: str = "USD"):
    body = order if isinstance(order, str) else json.dumps(order, ensure_ascii=False)
    return validate_order(body, default_currency=default_currency)


def reject(order: dict[str, Any] | str | object, default_currency: str = "USD") -> Rejection:
    body = order if not isinstance(order, dict) else json.dumps(order, ensure_ascii=False)
    with pytest.raises(Rejection) as caught:
        validate_order(body, default_currency=default_currency)
    return caught.value


def one_item(price: Any, quantity: Any = 1, currency: str = "USD", total: Any = None, **item: Any) -> dict[str, Any]:
    return sample_order(
        items=[{"name": "Thing", "quantity": quantity, "unitPrice": price, **item}],
        total=price if total is None else total,
        currency=currency,
    )


# --- accepted ----------------------------------------------------------------------------------


GOOD_NAMES = [
    "Zoë Ångström",
    "محمد عبد الله",  # RTL
    "שרה כהן",  # RTL
    "李小龍",
    "Jane 😀🎉 Doe",
    "O'Brien & Sons <b>bold</b>",
    "<script>alert('x')</script>",
    "{{ 7 * 7 }}",
    "\u202eevil RLO override",  # format characters are not control characters
    "x" * 200,
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_unicode_rtl_emoji_and_markup_names_are_accepted_verbatim(name: str) -> None:
    valid = accept(sample_order(customerName=name, items=[{"name": name, "quantity": 1, "unitPrice": "1.00"}], total="1.00"))
    assert valid.order.customer_name == name
    assert valid.normalized["items"][0]["name"] == name


def test_normalized_order_has_every_field_json_safe() -> None:
    valid = accept(sample_order(customerEmail="  Jane.Doe@Example.COM ", currency="usd"))
    assert valid.normalized == {
        "orderId": "ORD-1001",
        "customerEmail": "Jane.Doe@example.com",
        "customerName": "Jane Doe",
        "items": [
            {"name": "Espresso beans 1 kg", "quantity": 2, "unitPrice": "18.50", "sku": "BEAN-1K"},
            {"name": "Milk frother", "quantity": 1, "unitPrice": "29.99"},
        ],
        "total": "66.99",
        "currency": "USD",
        "timestamp": "2024-05-01T10:00:00Z",
        "metadata": {"channel": "web"},
    }
    json.dumps(valid.normalized)  # no Decimal, no datetime left


@pytest.mark.parametrize(
    ("price", "normalized"),
    [
        ("12.5", "12.50"),
        ("12.50", "12.50"),
        ("12.500", "12.50"),  # trailing zeros are not extra precision
        (12.5, "12.50"),
        (12, "12.00"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("1.25e1", "12.50"),  # exponent notation: the value counts
        ("1E2", "100.00"),
        (" 7.10 ", "7.10"),
    ],
)
def test_amounts_as_strings_or_numbers_are_normalized(price: Any, normalized: str) -> None:
    valid = accept(one_item(price))
    assert valid.normalized["items"][0]["unitPrice"] == normalized
    assert valid.normalized["total"] == normalized


def test_json_floats_never_lose_precision() -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point
    order = sample_order(
        items=[{"name": "A", "quantity": 1, "unitPrice": 0.1}, {"name": "B", "quantity": 1, "unitPrice": 0.2}],
        total=0.3,
    )
    assert accept(json.dumps(order)).order.total == Decimal("0.30")


@pytest.mark.parametrize(
    ("currency", "price", "quantity", "total", "expected_total"),
    [
        ("JPY", 1200, 3, 3600, "3600"),
        ("KRW", "15000", 1, "15000", "15000"),
        ("KWD", "1.250", 2, "2.5", "2.500"),
        ("BHD", "0.005", 3, "0.015", "0.015"),
        ("HUF", "199.99", 1, "199.99", "199.99"),  # ISO 4217: 2 minor units
        ("EUR", "9.99", 10, "99.9", "99.90"),
    ],
)
def test_currencies_with_zero_two_and_three_minor_units(
    currency: str, price: Any, quantity: int, total: Any, expected_total: str
) -> None:
    valid = accept(one_item(price, quantity=quantity, currency=currency, total=total))
    assert valid.normalized["total"] == expected_total
    assert valid.normalized["currency"] == currency


def test_missing_currency_uses_the_default() -> None:
    order = sample_order(items=[{"name": "A", "quantity": 1, "unitPrice": 500}], total=500)
    del order["currency"]
    assert accept(order, default_currency="JPY").normalized["currency"] == "JPY"
    assert accept({**order, "currency": None}, default_currency="EUR").normalized["total"] == "500.00"


def test_optional_fields_and_unknown_fields() -> None:
    order = sample_order(extra={"anything": [1, 2]}, shippingAddress="kept in the request only")
    del order["metadata"]
    order["items"][0]["colour"] = "red"
    order["items"][0]["sku"] = ""
    valid = accept(order)
    assert valid.normalized["metadata"] == {}
    assert "sku" not in valid.normalized["items"][0]
    assert "extra" not in valid.normalized and "colour" not in valid.normalized["items"][0]


@pytest.mark.parametrize(
    ("timestamp", "normalized"),
    [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T12:00:00.250-05:30", "2024-05-01T17:30:00.250000Z"),
        ("2024-05-01 12:00:00+00:00", "2024-05-01T12:00:00Z"),
    ],
)
def test_timestamps_are_normalized_to_utc(timestamp: str, normalized: str) -> None:
    assert accept(sample_order(timestamp=timestamp)).normalized["timestamp"] == normalized


def test_internationalized_domain_is_normalized_to_ascii() -> None:
    assert accept(sample_order(customerEmail="hans@Bücher.de")).order.customer_email == "hans@xn--bcher-kva.de"


def test_limits_are_inclusive() -> None:
    items = [{"name": "n" * 200, "quantity": 10_000, "unitPrice": "0.01"}] + [
        {"name": "x", "quantity": 1, "unitPrice": "0"} for _ in range(499)
    ]
    valid = accept(sample_order(orderId="o" * 128, items=items, total="100.00"))
    assert len(valid.order.items) == 500


def test_payload_hash_is_over_the_canonical_normalized_order() -> None:
    first = accept(sample_order())
    # Same order, written differently: other key order, float vs string, other offset, unknown field.
    reordered = dict(reversed(list(sample_order().items())))
    reordered["items"] = [
        {"unitPrice": 18.5, "quantity": 2, "name": "Espresso beans 1 kg", "sku": "BEAN-1K"},
        {"unitPrice": "29.990", "name": "Milk frother", "quantity": 1},
    ]
    reordered["timestamp"] = "2024-05-01T10:00:00Z"
    reordered["ignored"] = True
    second = accept(json.dumps(reordered, indent=2))
    assert first.payload_hash == second.payload_hash
    assert first.canonical_json == canonical_json(first.normalized)
    assert first.payload_hash == sha256_hex(first.canonical_json)
    assert " " not in first.canonical_json.replace("Espresso beans 1 kg", "").replace("Milk frother", "").replace("Jane Doe", "")
    assert accept(sample_order(customerName="Jane Doe Jr")).payload_hash != first.payload_hash


def test_normalized_order_validates_again() -> None:
    normalized = accept(sample_order(currency="KWD", items=[{"name": "A", "quantity": 1, "unitPrice": "1.5"}], total="1.5")).normalized
    assert order_from_normalized(normalized).to_json_dict() == normalized


# --- rejected ----------------------------------------------------------------------------------


def test_order_too_large_is_rejected_before_parsing() -> None:
    big = json.dumps(sample_order(metadata={"padding": "x" * 250_000}))
    rejection = reject(big)
    assert rejection.reason is Reason.TOO_LARGE
    assert "body" in rejection.message and str(MAX_BODY_BYTES) in rejection.message
    assert rejection.order_id == "ORD-1001"  # recovered without parsing, for the ledger key
    assert reject("{" * 300_000).reason is Reason.TOO_LARGE  # would be a RecursionError if parsed


def test_size_is_measured_in_utf8_bytes() -> None:
    body = json.dumps(sample_order(note="é" * 40_000), ensure_ascii=False)  # 40k characters, 80 KB
    assert len(body) < MAX_BODY_BYTES
    assert reject(body).reason is Reason.TOO_LARGE


def _without(field: str) -> dict[str, Any]:
    order = sample_order()
    del order[field]
    return order


def _item_without(field: str) -> dict[str, Any]:
    order = sample_order()
    del order["items"][1][field]
    return order


BAD_ORDERS: list[tuple[str, Any, Reason, str]] = [
    # (case, body or order, reason, text the message must contain)
    ("empty body", "", Reason.EMPTY_BODY, "body"),
    ("blank body", " \n\t ", Reason.EMPTY_BODY, "body"),
    ("not json", "orderId=1", Reason.NOT_JSON, "not valid JSON"),
    ("truncated json", json.dumps(sample_order())[:50], Reason.NOT_JSON, "not valid JSON"),
    ("duplicate key", '{"orderId": "A", "orderId": "B"}', Reason.NOT_JSON, "duplicate key"),
    ("json array", json.dumps([sample_order()]), Reason.NOT_AN_OBJECT, "array"),
    ("json string", '"an order"', Reason.NOT_AN_OBJECT, "string"),
    ("json null", "null", Reason.NOT_AN_OBJECT, "null"),
    ("missing orderId", _without("orderId"), Reason.MISSING_FIELD, "orderId"),
    ("missing customerEmail", _without("customerEmail"), Reason.MISSING_FIELD, "customerEmail"),
    ("missing customerName", _without("customerName"), Reason.MISSING_FIELD, "customerName"),
    ("missing items", _without("items"), Reason.MISSING_FIELD, "items"),
    ("missing total", _without("total"), Reason.MISSING_FIELD, "total"),
    ("missing timestamp", _without("timestamp"), Reason.MISSING_FIELD, "timestamp"),
    ("missing item name", _item_without("name"), Reason.MISSING_FIELD, "items[1].name"),
    ("missing item quantity", _item_without("quantity"), Reason.MISSING_FIELD, "items[1].quantity"),
    ("missing item unitPrice", _item_without("unitPrice"), Reason.MISSING_FIELD, "items[1].unitPrice"),
    ("numeric orderId", sample_order(orderId=1001), Reason.WRONG_TYPE, "orderId"),
    ("null orderId", sample_order(orderId=None), Reason.WRONG_TYPE, "orderId"),
    ("blank orderId", sample_order(orderId="   "), Reason.INVALID_ORDER_ID, "orderId"),
    ("orderId too long", sample_order(orderId="o" * 129), Reason.INVALID_ORDER_ID, "128"),
    ("orderId too many bytes", sample_order(orderId="é" * 81), Reason.INVALID_ORDER_ID, "160 bytes"),
    ("orderId with newline", sample_order(orderId="A\n1"), Reason.INVALID_ORDER_ID, "U+000A"),
    ("email wrong type", sample_order(customerEmail=["a@example.com"]), Reason.WRONG_TYPE, "customerEmail"),
    ("email without at", sample_order(customerEmail="jane.example.com"), Reason.INVALID_EMAIL, "customerEmail"),
    ("email display name", sample_order(customerEmail="Jane <jane@example.com>"), Reason.INVALID_EMAIL, "customerEmail"),
    ("email utf8 local part", sample_order(customerEmail="jöhn@example.com"), Reason.INVALID_EMAIL, "customerEmail"),
    ("email header injection", sample_order(customerEmail="a@example.com\r\nBcc: x@example.com"), Reason.INVALID_EMAIL, "customerEmail"),
    ("name with CRLF", sample_order(customerName="Jane\r\nBcc: evil@example.com"), Reason.INVALID_NAME, "U+000D"),
    ("name with LF", sample_order(customerName="Jane\nDoe"), Reason.INVALID_NAME, "customerName"),
    ("name with NUL", sample_order(customerName="Jane\x00"), Reason.INVALID_NAME, "U+0000"),
    ("name with line separator", sample_order(customerName="Jane\u2028Doe"), Reason.INVALID_NAME, "U+2028"),
    ("name with lone surrogate", sample_order(customerName="Jane \ud800"), Reason.INVALID_NAME, "U+D800"),
    ("empty name", sample_order(customerName=" "), Reason.INVALID_NAME, "customerName"),
    ("name too long", sample_order(customerName="n" * 201), Reason.INVALID_NAME, "200"),
    ("name wrong type", sample_order(customerName={"first": "Jane"}), Reason.WRONG_TYPE, "customerName"),
    ("item name with tab", one_item("1.00", name="A\tB"), Reason.INVALID_NAME, "items[0].name"),
    ("no items", sample_order(items=[]), Reason.NO_ITEMS, "items"),
    ("items not a list", sample_order(items={"name": "A"}), Reason.WRONG_TYPE, "items"),
    ("item not an object", sample_order(items=["A"]), Reason.WRONG_TYPE, "items[0]"),
    (
        "501 items",
        sample_order(items=[{"name": "x", "quantity": 1, "unitPrice": "0"}] * 501, total="0"),
        Reason.TOO_MANY_ITEMS,
        "501",
    ),
    ("zero quantity", one_item("1.00", quantity=0), Reason.INVALID_QUANTITY, "items[0].quantity"),
    ("negative quantity", one_item("1.00", quantity=-1), Reason.INVALID_QUANTITY, "items[0].quantity"),
    ("huge quantity", one_item("1.00", quantity=10_001), Reason.INVALID_QUANTITY, "10000"),
    ("fractional quantity", one_item("1.00", quantity=1.5), Reason.INVALID_QUANTITY, "whole number"),
    ("string quantity", one_item("1.00", quantity="2"), Reason.WRONG_TYPE, "items[0].quantity"),
    ("boolean quantity", one_item("1.00", quantity=True), Reason.WRONG_TYPE, "boolean"),
    ("negative price", one_item("-1.00", total="0"), Reason.INVALID_AMOUNT, "negative"),
    ("negative total", one_item("1.00", total="-1.00"), Reason.INVALID_AMOUNT, "total"),
    ("float string with 3 places for USD", one_item("12.345"), Reason.INVALID_AMOUNT, "USD allows (2)"),
    ("fraction for JPY", one_item("12.5", currency="JPY"), Reason.INVALID_AMOUNT, "JPY allows (0)"),
    ("4 places for KWD", one_item("1.2345", currency="KWD"), Reason.INVALID_AMOUNT, "KWD allows (3)"),
    ("exponent hiding precision", one_item("1.2345e1"), Reason.INVALID_AMOUNT, "decimal places"),
    ("tiny exponent", one_item("1e-999999"), Reason.INVALID_AMOUNT, "decimal places"),
    ("huge exponent", one_item("1e999999"), Reason.INVALID_AMOUNT, "exceed"),
    ("price not a number", one_item("twelve"), Reason.INVALID_AMOUNT, "items[0].unitPrice"),
    ("price with currency sign", one_item("$12.50"), Reason.INVALID_AMOUNT, "decimal number"),
    ("price with underscore", one_item("1_000"), Reason.INVALID_AMOUNT, "decimal number"),
    ("price NaN string", one_item("NaN"), Reason.INVALID_AMOUNT, "decimal number"),
    ("price Infinity string", one_item("Infinity"), Reason.INVALID_AMOUNT, "decimal number"),
    ("price boolean", one_item(True), Reason.WRONG_TYPE, "boolean"),
    ("price null", one_item(None, total="1"), Reason.WRONG_TYPE, "items[0].unitPrice"),
    ("total string garbage", one_item("1.00", total="1,00"), Reason.INVALID_AMOUNT, "total"),
    ("unknown currency", sample_order(currency="XXX"), Reason.UNKNOWN_CURRENCY, "currency"),
    ("currency wrong type", sample_order(currency=840), Reason.WRONG_TYPE, "currency"),
    ("naive timestamp", sample_order(timestamp="2024-05-01T12:00:00"), Reason.INVALID_TIMESTAMP, "time zone"),
    ("date only", sample_order(timestamp="2024-05-01"), Reason.INVALID_TIMESTAMP, "timestamp"),
    ("not a timestamp", sample_order(timestamp="yesterday"), Reason.INVALID_TIMESTAMP, "ISO 8601"),
    ("epoch timestamp", sample_order(timestamp=1714557600), Reason.WRONG_TYPE, "timestamp"),
    ("timestamp out of range", sample_order(timestamp="0001-01-01T00:00:00+05:00"), Reason.INVALID_TIMESTAMP, "range"),
    ("metadata not an object", sample_order(metadata=["a"]), Reason.WRONG_TYPE, "metadata"),
    ("huge metadata", sample_order(metadata={"notes": "x" * 5000}), Reason.METADATA_TOO_LARGE, "4096"),
    ("deep metadata", sample_order(metadata={"a": json.loads("[" * 40 + "]" * 40)}), Reason.INVALID_METADATA, "deeper"),
    ("metadata lone surrogate", sample_order(metadata={"a": "\ud800"}), Reason.INVALID_METADATA, "surrogate"),
]


@pytest.mark.parametrize(("body", "reason", "needle"), [case[1:] for case in BAD_ORDERS], ids=[case[0] for case in BAD_ORDERS])
def test_bad_orders_are_rejected_with_a_reason_and_the_field(body: Any, reason: Reason, needle: str) -> None:
    rejection = reject(body)
    assert rejection.reason is reason, rejection.message
    assert needle in rejection.message
    assert str(rejection) == rejection.message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_json_literals_are_rejected(literal: str) -> None:
    body = json.dumps(one_item("1.00")).replace('"unitPrice": "1.00"', f'"unitPrice": {literal}')
    rejection = reject(body)
    assert rejection.reason is Reason.INVALID_AMOUNT
    assert "items[0].unitPrice" in rejection.message and "finite" in rejection.message
    metadata_body = json.dumps(sample_order()).replace('"metadata": {"channel": "web"}', f'"metadata": {{"x": {literal}}}')
    assert reject(metadata_body).reason is Reason.INVALID_METADATA


def test_total_mismatch_names_the_difference() -> None:
    rejection = reject(sample_order(total="67.00"))
    assert rejection.reason is Reason.TOTAL_MISMATCH
    assert rejection.message == "total: 67.00 does not equal the sum of the items 66.99 (difference +0.01)"
    assert "(difference -1.00)" in reject(sample_order(total="65.99")).message


def test_several_problems_are_reported_together_first_one_decides_the_reason() -> None:
    order = sample_order(customerEmail="nope", items=[{"name": "", "quantity": 0, "unitPrice": "x"}])
    rejection = reject(order)
    assert rejection.reason is Reason.INVALID_EMAIL
    for field in ("customerEmail", "items[0].name", "items[0].quantity", "items[0].unitPrice"):
        assert field in rejection.message


def test_rejection_messages_never_contain_the_customers_address_or_name() -> None:
    secret_local = "verysecretperson"
    for address in (f"{secret_local}@example", f"{secret_local}@@example.com", f"{secret_local}@exa mple.com", f"{secret_local}@x.test"):
        rejection = reject(sample_order(customerEmail=address))
        assert rejection.reason is Reason.INVALID_EMAIL
        assert secret_local not in rejection.message
    assert "Jane" not in reject(sample_order(customerName="Jane\nDoe")).message
    domain_message = reject(sample_order(customerEmail="jane@Private-Family-Domain.TEST")).message
    assert "private-family-domain" not in domain_message.lower()


def test_rejection_carries_the_order_id_when_it_is_valid() -> None:
    assert reject(sample_order(total="1")).order_id == "ORD-1001"
    assert reject(sample_order(orderId="")).order_id is None
    assert reject("[]").order_id is None


def test_body_must_be_a_string() -> None:
    assert reject(None).reason is Reason.WRONG_TYPE
    assert reject(b'{"orderId": "A"}').reason is Reason.WRONG_TYPE
