"""What the ledger stores small (tasks/domain/ledger_codec.py, docs/LEDGER.md)."""

from __future__ import annotations

import base64
import json

import pytest
from boto3.dynamodb.types import Binary
from hypothesis import given
from hypothesis import strategies as st

from tasks.domain.ledger_codec import (
    REQUEST_FORMAT_DEFLATE_V1,
    event_key_digest,
    pack_request,
    stored_payload_hash,
    unpack_request,
)
from tests.unit.helpers import sample_order


@given(st.text(max_size=2000))
def test_any_body_comes_back_exactly(body: str) -> None:
    stored = base64.b64decode(pack_request(body))
    assert stored[0] == REQUEST_FORMAT_DEFLATE_V1
    assert unpack_request(stored) == body
    assert unpack_request(Binary(stored)) == body  # as boto3 hands a B value back


def test_an_order_is_stored_in_under_half_its_size() -> None:
    body = json.dumps(sample_order(), ensure_ascii=False)
    assert len(base64.b64decode(pack_request(body))) < 0.5 * len(body.encode())


def test_a_string_is_a_body_kept_as_it_came_and_an_unknown_format_is_refused() -> None:
    assert unpack_request("not json at all") == "not json at all"  # INVALID items, items written before
    assert unpack_request(None) is None
    with pytest.raises(ValueError, match="unknown format byte 02"):
        unpack_request(b"\x02" + base64.b64decode(pack_request("x"))[1:])


def test_digests_and_hashes_are_short_and_stable() -> None:
    assert event_key_digest("Delivery:m-1:2024-05-01T10:00:00Z") == event_key_digest("Delivery:m-1:2024-05-01T10:00:00Z")
    assert len(event_key_digest("k")) == 16 and event_key_digest("k") != event_key_digest("k2")
    assert stored_payload_hash("ab" * 32) == "ab" * 16
