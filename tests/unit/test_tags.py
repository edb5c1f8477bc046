"""SES tags carrying the orderId, and their inverse."""

from __future__ import annotations

import pytest

from tasks import names
from tasks.domain.tags import decode_order_id, email_tags, encode_order_id, order_id_from_tags


def as_event_tags(tags: list[dict[str, str]]) -> dict[str, list[str]]:
    """What SES puts in `mail.tags` for the EmailTags we sent."""
    return {tag["Name"]: [tag["Value"]] for tag in tags}


def test_plain_order_id_is_sent_as_is() -> None:
    assert email_tags("ORD_1001-a", "prod") == [
        {"Name": names.SES_TAG_ORDER_ID, "Value": "ORD_1001-a"},
        {"Name": names.SES_TAG_ENVIRONMENT, "Value": "prod"},
    ]


@pytest.mark.parametrize("order_id", ["ORD 1001", "ORD/1001", "Bestellung-Nr.7", "注文-42", "a." * 64, "é" * 80, "line\u2028sep"])
def test_other_order_ids_are_base32_and_round_trip(order_id: str) -> None:
    tags = email_tags(order_id, "dev")
    assert tags[0]["Name"] == names.SES_TAG_ORDER_ID_B32
    value = tags[0]["Value"]
    assert "=" not in value and len(value) <= 256
    assert all(char.isalnum() and char.isascii() for char in value)
    assert order_id_from_tags(as_event_tags(tags)) == order_id


def test_order_id_of_256_safe_characters_stays_plain_257_is_encoded() -> None:
    assert email_tags("a" * 256, "dev")[0]["Name"] == names.SES_TAG_ORDER_ID
    assert email_tags("a" * 257, "dev")[0]["Name"] == names.SES_TAG_ORDER_ID_B32


def test_trailing_newline_is_not_ses_safe() -> None:
    assert email_tags("ORD1\n", "dev")[0]["Name"] == names.SES_TAG_ORDER_ID_B32


def test_order_id_from_tags() -> None:
    assert order_id_from_tags({"orderId": ["A-1"], "ses:configuration-set": ["x"]}) == "A-1"
    assert order_id_from_tags({"orderIdB32": [encode_order_id("A 1")]}) == "A 1"
    assert order_id_from_tags({"orderIdB32": [encode_order_id("A 1").lower()]}) == "A 1"
    assert order_id_from_tags({"orderId": "bare-string"}) == "bare-string"
    assert order_id_from_tags({"ses:configuration-set": ["x"]}) is None
    assert order_id_from_tags({"orderId": []}) is None
    assert order_id_from_tags({"orderId": [None]}) is None
    assert order_id_from_tags({"orderIdB32": ["not base32!"]}) is None


@pytest.mark.parametrize("garbage", ["!!!", "A", "ABC", "ü", "//5", "7777777777", "74"])
def test_decode_rejects_what_is_not_base32_of_utf8(garbage: str) -> None:
    # the last two are valid base32 of bytes that are not UTF-8
    assert decode_order_id(garbage) is None
