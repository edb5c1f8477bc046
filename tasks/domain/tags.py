"""SES message tags that carry the orderId to the feedback processor, and their inverse.

SES tag values allow only ASCII letters, digits, `_` and `-` (at most 256 characters). An orderId
that fits is sent as is (`orderId`); any other is sent as unpadded base32 of its UTF-8 bytes
(`orderIdB32`), which uses only letters and digits. orderIds are limited to 160 UTF-8 bytes
(see tasks.domain.order), whose base32 is at most 256 characters.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

from tasks import names

_SES_SAFE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def is_ses_safe(value: str) -> bool:
    return _SES_SAFE.fullmatch(value) is not None


def encode_order_id(order_id: str) -> str:
    return base64.b32encode(order_id.encode("utf-8")).decode("ascii").rstrip("=")


def decode_order_id(encoded: str) -> str | None:
    """The orderId of an `orderIdB32` tag value, or None when it is not valid base32 of UTF-8."""
    padded = encoded.upper() + "=" * (-len(encoded) % 8)
    try:
        return base64.b32decode(padded).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def email_tags(order_id: str, environment: str) -> list[dict[str, str]]:
    """The `EmailTags` of the SES SendEmail call."""
    if is_ses_safe(order_id):
        order_tag = {"Name": names.SES_TAG_ORDER_ID, "Value": order_id}
    else:
        order_tag = {"Name": names.SES_TAG_ORDER_ID_B32, "Value": encode_order_id(order_id)}
    return [order_tag, {"Name": names.SES_TAG_ENVIRONMENT, "Value": environment}]


def _first_string(values: object) -> str | None:
    if isinstance(values, str):  # tolerate a bare string where SES puts a list
        return values or None
    if isinstance(values, Sequence) and values and isinstance(values[0], str) and values[0]:
        return values[0]
    return None


def order_id_from_tags(tags: Mapping[str, object]) -> str | None:
    """The orderId from an SES event's `mail.tags` ({name: [values]}), or None."""
    plain = _first_string(tags.get(names.SES_TAG_ORDER_ID))
    if plain is not None:
        return plain
    encoded = _first_string(tags.get(names.SES_TAG_ORDER_ID_B32))
    return decode_order_id(encoded) if encoded is not None else None


def order_id_headers(order_id: str) -> list[dict[str, str]]:
    """The SendEmail `Headers`: the orderId again, for SES notifications that carry headers but no
    tags (identity notifications with headers included). Encoded like the tags: as is when
    SES-safe, else `b32:` and its base32."""
    value = order_id if is_ses_safe(order_id) else f"b32:{encode_order_id(order_id)}"
    return [{"Name": names.ORDER_ID_HEADER, "Value": value}]


def order_id_from_headers(headers: object) -> str | None:
    """The orderId from an SES record's `mail.headers` ([{name, value}]), or None."""
    if not isinstance(headers, Sequence) or isinstance(headers, str):
        return None
    wanted = names.ORDER_ID_HEADER.lower()
    for header in headers:
        if isinstance(header, Mapping) and str(header.get("name", "")).lower() == wanted:
            value = header.get("value")
            if not isinstance(value, str) or not value.strip():
                return None
            value = value.strip()
            return decode_order_id(value[4:]) if value.startswith("b32:") else value
    return None
