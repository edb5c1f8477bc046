"""Fuzz the HTTP intake's body (local runtime): any body is 202 or 400, never a 5xx or a crash, and a
400 publishes nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordermail.emulator import LocalRuntime
from ordermail.emulator.orders_api import check_body
from tests.integration.conftest import runtime  # noqa: F401 (the module's runtime fixture)
from tests.integration.test_intake_http import signed_post

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_ORDER_ID = st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=3)))
_OBJECTS = st.builds(lambda rest, order_id, with_id: {**rest, **({"orderId": order_id} if with_id else {})},
                     st.dictionaries(st.text(max_size=8), _JSON, max_size=4), _ORDER_ID, st.booleans())
BODIES = st.one_of(
    st.binary(max_size=200),
    _JSON.map(lambda value: json.dumps(value).encode()),
    _OBJECTS.map(lambda value: json.dumps(value, ensure_ascii=False).encode()),
    st.sampled_from([b"NaN", b'{"orderId": "a", "x": Infinity}', b"[" * 5000, b'{"orderId": "\\ud800"}', b"\xff{"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_any_body_is_202_or_400_and_400_publishes_nothing(runtime: LocalRuntime, body: bytes) -> None:  # noqa: F811
    assert runtime.orders_api is not None
    before = runtime.orders_api.published
    status, answer = signed_post(runtime.outputs["OrdersApiUrl"], body)
    assert status in (202, 400), (status, answer, body[:200])
    if status == 400:
        assert runtime.orders_api.published == before
        assert answer["message"]
    else:
        assert runtime.orders_api.published == before + 1 and answer["messageId"]
        value: Any = json.loads(body)
        assert isinstance(value, dict) and isinstance(value.get("orderId"), str)
    assert (check_body(body) is None) == (status == 202)
