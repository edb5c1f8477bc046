"""Property tests at the handler boundaries.

- Validate: generated valid orders are accepted (and render); generated invalid orders are rejected
  with the reason their one defect calls for; arbitrary bodies and events raise nothing but
  InvalidOrder (UnexpectedBatch only for batches of more than one record).
- Feedback parsing: generated SES records — valid, truncated, with wrong types anywhere — never
  raise anything but the parser's own SesRecordError, and unwrapping never raises at all.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.domain.currencies import CURRENCIES
from tasks.domain.order import Reason
from tasks.domain.rendering import render_normalized_order
from tasks.domain.ses_events import SesEvent, SesRecordError, parse_ses_record, records_from_lambda_event
from tasks.domain.status import apply_event
from tasks.settings import reset_settings_cache
from tasks.validate import InvalidOrder, UnexpectedBatch, handler
from tests.unit.helpers import (
    SES_EVENTS_DIR,
    SETTINGS_ENV,
    FakeLambdaContext,
    pipe_event,
    sns_event,
    sqs_sns_event,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTEXT = FakeLambdaContext()
REASONS = {reason.value for reason in Reason}
NUMBER_MARK = "@@number@@"


@pytest.fixture(autouse=True, scope="module")
def default_settings() -> Iterator[None]:
    saved = {key: os.environ.pop(key) for key in SETTINGS_ENV if key in os.environ}
    reset_settings_cache()
    yield
    os.environ.update(saved)
    reset_settings_cache()


# --- order generation --------------------------------------------------------------------------

single_line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40
).filter(lambda text: unicodedata.normalize("NFC", text).strip() != "")
order_ids = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40).filter(
    lambda text: text.strip() != ""
)
local_parts = st.from_regex(r"[a-z0-9]{1,10}([._+-][a-z0-9]{1,5}){0,2}", fullmatch=True)
domains = st.from_regex(r"[a-z][a-z0-9]{0,10}\.(com|org|de|shop|co\.uk)", fullmatch=True)
emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
timestamps = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone).isoformat(),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)),
    offsets,
)
metadata = st.dictionaries(
    st.text(max_size=10),
    st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=20)),
    max_size=5,
)


def amount_in(code: str, minor_units: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=10**7).map(lambda units: Decimal(units).scaleb(-minor_units))


def as_json_amount(amount: Decimal, style: str) -> Any:
    """An amount as a decimal string or as a JSON number (marked, substituted after dumps)."""
    if style == "string":
        return str(amount)
    return f"{NUMBER_MARK}{amount}{NUMBER_MARK}"


def to_body(order: dict[str, Any]) -> str:
    text = json.dumps(order, ensure_ascii=False)
    return text.replace(f'"{NUMBER_MARK}', "").replace(f'{NUMBER_MARK}"', "")


@st.composite
def valid_orders(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(sorted(CURRENCIES)))
    minor_units = CURRENCIES[code].minor_units
    style = draw(st.sampled_from(["string", "number"]))
    items = []
    total = Decimal(0)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        price = draw(amount_in(code, minor_units))
        quantity = draw(st.integers(min_value=1, max_value=10_000))
        total += price * quantity
        item: dict[str, Any] = {"name": draw(single_line_text), "quantity": quantity, "unitPrice": as_json_amount(price, style)}
        if draw(st.booleans()):
            item["sku"] = draw(single_line_text)
        items.append(item)
    return {
        "orderId": draw(order_ids),
        "customerEmail": draw(emails),
        "customerName": draw(single_line_text),
        "items": items,
        "total": as_json_amount(total, style),
        "currency": code,
        "timestamp": draw(timestamps),
        "metadata": draw(metadata),
    }


def _delete(field: str) -> Any:
    def mutate(order: dict[str, Any]) -> None:
        del order[field]

    return mutate


def _set(field: str, value: Any) -> Any:
    def mutate(order: dict[str, Any]) -> None:
        order[field] = value

    return mutate


def _set_item(field: str, value: Any) -> Any:
    def mutate(order: dict[str, Any]) -> None:
        order["items"][0][field] = value

    return mutate


def _total_off_by_one_unit(order: dict[str, Any]) -> None:
    quantum = CURRENCIES[order["currency"]].quantum
    order["total"] = str(Decimal(str(order["total"]).replace(NUMBER_MARK, "")) + quantum)


def _price_with_one_decimal_too_many(order: dict[str, Any]) -> None:
    price = Decimal(str(order["items"][0]["unitPrice"]).replace(NUMBER_MARK, ""))
    order["items"][0]["unitPrice"] = str(price + CURRENCIES[order["currency"]].quantum / 10)


DEFECTS: list[tuple[str, Any, Reason]] = [
    *[(f"no {field}", _delete(field), Reason.MISSING_FIELD) for field in ("orderId", "customerEmail", "customerName", "items", "total", "timestamp")],
    ("numeric orderId", _set("orderId", 42), Reason.WRONG_TYPE),
    ("items object", _set("items", {"name": "x"}), Reason.WRONG_TYPE),
    ("timestamp number", _set("timestamp", 1714557600), Reason.WRONG_TYPE),
    ("name list", _set("customerName", ["Jane"]), Reason.WRONG_TYPE),
    ("blank orderId", _set("orderId", "  "), Reason.INVALID_ORDER_ID),
    ("email without @", _set("customerEmail", "jane.example.com"), Reason.INVALID_EMAIL),
    ("name with CRLF", _set("customerName", "Jane\r\nBcc: x@example.com"), Reason.INVALID_NAME),
    ("no items", _set("items", []), Reason.NO_ITEMS),
    ("zero quantity", _set_item("quantity", 0), Reason.INVALID_QUANTITY),
    ("negative price", _set_item("unitPrice", "-1"), Reason.INVALID_AMOUNT),
    ("extra decimal", _price_with_one_decimal_too_many, Reason.INVALID_AMOUNT),
    ("total off", _total_off_by_one_unit, Reason.TOTAL_MISMATCH),
    ("unknown currency", _set("currency", "QQQ"), Reason.UNKNOWN_CURRENCY),
    ("naive timestamp", _set("timestamp", "2024-05-01T12:00:00"), Reason.INVALID_TIMESTAMP),
    ("metadata too big", _set("metadata", {"x": "y" * 5000}), Reason.METADATA_TOO_LARGE),
]


def invalid_document(event: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(InvalidOrder) as caught:
        handler(event, CONTEXT)
    document = json.loads(str(caught.value))
    assert document["reason"] in REASONS
    assert document["message"]
    assert document["key"]
    return document


# --- validate ----------------------------------------------------------------------------------


@FUZZ
@given(order=valid_orders())
def test_valid_orders_are_accepted_and_render(order: dict[str, Any]) -> None:
    validated = handler(pipe_event(to_body(order)), CONTEXT)
    assert validated["orderId"] == order["orderId"].strip()
    assert validated["order"]["currency"] == order["currency"]
    assert Decimal(validated["order"]["total"]) == Decimal(str(order["total"]).replace(NUMBER_MARK, ""))
    assert len(validated["order"]["items"]) == len(order["items"])
    json.dumps(validated)
    mail = render_normalized_order(validated["order"], shop_name="Fuzz Shop")
    assert "\n" not in mail.subject and len(mail.subject) <= 200


@FUZZ
@given(order=valid_orders(), defect=st.sampled_from(DEFECTS))
def test_orders_with_one_defect_are_rejected_with_its_reason(order: dict[str, Any], defect: tuple[str, Any, Reason]) -> None:
    _, mutate, reason = defect
    broken = copy.deepcopy(order)
    mutate(broken)
    document = invalid_document(pipe_event(to_body(broken)))
    assert document["reason"] == reason.value, document["message"]


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=20,
)


@FUZZ
@given(body=st.one_of(st.text(max_size=300), json_values.map(json.dumps)))
def test_arbitrary_bodies_raise_only_invalid_order(body: str) -> None:
    try:
        validated = handler(pipe_event(body), CONTEXT)
    except InvalidOrder as error:
        assert json.loads(str(error))["reason"] in REASONS
    else:
        assert validated["orderId"]


@FUZZ
@given(value=json_values, order=valid_orders(), data=st.data())
def test_arbitrary_field_values_raise_only_invalid_order(value: Any, order: dict[str, Any], data: st.DataObject) -> None:
    order[data.draw(st.sampled_from(sorted(order)))] = value
    try:
        handler(pipe_event(to_body(order)), CONTEXT)
    except InvalidOrder as error:
        assert json.loads(str(error))["reason"] in REASONS


@FUZZ
@given(event=json_values)
def test_arbitrary_events_raise_only_invalid_order(event: Any) -> None:
    with contextlib.suppress(InvalidOrder, UnexpectedBatch):
        handler(event if isinstance(event, dict) else {"records": event}, CONTEXT)


# --- feedback parsing --------------------------------------------------------------------------

SES_RECORDS = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SES_EVENTS_DIR.glob("*.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copied = copy.copy(value)
    copied[path[0]] = _replace(value[path[0]], path[1:], new)
    return copied


def parse_safely(record: Any) -> SesEvent | None:
    try:
        event = parse_ses_record(record)
    except SesRecordError:
        return None
    assert event.key and event.ses_message_id and event.at
    apply_event({"orderId": "ORD", "status": "SENT"}, event, now="2024-01-01T00:00:00Z")
    return event


@FUZZ
@given(record=st.sampled_from(SES_RECORDS), data=st.data())
def test_records_with_a_wrong_value_anywhere_never_crash(record: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(list(_paths(record))))
    mutated = _replace(record, path, data.draw(json_values))
    parse_safely(mutated)
    for event in (sns_event(mutated), sqs_sns_event(mutated)):
        for _, unwrapped in records_from_lambda_event(event).records:
            parse_safely(unwrapped)


@FUZZ
@given(record=st.sampled_from(SES_RECORDS), data=st.data())
def test_truncated_records_are_reported_not_raised(record: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(record)
    cut = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    unwrapped = records_from_lambda_event(sns_event(text[:cut]))
    assert unwrapped.records == [] and len(unwrapped.problems) == 1


@FUZZ
@given(event=json_values)
def test_arbitrary_lambda_events_never_crash_unwrapping(event: Any) -> None:
    unwrapped = records_from_lambda_event(event)
    for _, record in unwrapped.records:
        parse_safely(record)
    wrapped = records_from_lambda_event({"Records": [{"Sns": {"Message": json.dumps(event)}}, {"body": json.dumps(event)}]})
    for _, record in wrapped.records:
        parse_safely(record)
