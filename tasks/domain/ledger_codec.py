"""How the ledger stores what it keeps small (docs/LEDGER.md, "Item size").

A write costs one unit per started KB of the item, so the hot item stays under 1 KB:
- `request` (the message body, kept for replay) is a binary attribute: one format byte, then raw
  DEFLATE (RFC 1951) primed with REQUEST_DICTIONARY, the order contract's field names, which a
  short order otherwise spends most of its compressed bytes on: an order's JSON shrinks to about
  45 %. INVALID items (whatever arrived, kept as it came) and items written before this layout hold
  it as a string; `unpack_request` reads both.
- `payloadHash` is the first 128 bits of the SHA-256 (32 hex characters): enough to tell two
  payloads of one orderId apart, and still a prefix of `sha256sum`'s output.
- `eventKeys` holds a 96-bit digest of each applied SES event's key rather than the key itself.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Final

PAYLOAD_HASH_HEX_CHARS: Final = 32
# Format 1: DEFLATE with the dictionary below. Never edit it: stored requests depend on it byte for
# byte; a new dictionary is a new format byte, and unpack_request keeps reading the old ones.
REQUEST_FORMAT_DEFLATE_V1: Final = 1
REQUEST_DICTIONARY: Final = (
    b'{"orderId": "", "customerEmail": "", "customerName": "", "items": [{"name": "", "quantity": 1, '
    b'"unitPrice": "", "sku": ""}, {"name": "", "quantity": 2, "unitPrice": ""}], "total": "", '
    b'"currency": "", "timestamp": "", "metadata": {}}'
    b'{"orderId":"","customerEmail":"","customerName":"","items":[{"name":"","quantity":1,'
    b'"unitPrice":"","sku":""}],"total":"","currency":"","timestamp":"","metadata":{}}'
)
EVENT_KEY_DIGEST_BYTES: Final = 12  # 96 bits: no collision among an order's few events


def pack_request(body: str) -> str:
    """The stored form of a body, base64-encoded: what a `B` value takes in Step Functions' JSON."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, REQUEST_DICTIONARY)
    packed = bytes([REQUEST_FORMAT_DEFLATE_V1]) + compressor.compress(body.encode("utf-8")) + compressor.flush()
    return base64.b64encode(packed).decode("ascii")


def unpack_request(stored: object) -> str | None:
    """The original body from a stored `request` (bytes-like: a format byte and DEFLATE; str: as it came).

    Raises ValueError for bytes in a format this code does not know, zlib.error for corrupt ones.
    """
    if isinstance(stored, str):
        return stored
    raw = getattr(stored, "value", stored)  # boto3's Binary wraps the bytes
    if not isinstance(raw, bytes | bytearray):
        return None
    raw = bytes(raw)
    if not raw or raw[0] != REQUEST_FORMAT_DEFLATE_V1:
        raise ValueError(f"stored request: unknown format byte {raw[:1].hex() or 'none'}")
    decompressor = zlib.decompressobj(-15, REQUEST_DICTIONARY)
    return (decompressor.decompress(raw[1:]) + decompressor.flush()).decode("utf-8")


def event_key_digest(key: str) -> str:
    """What `eventKeys` stores for an SES event key (16 base64url characters)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()[:EVENT_KEY_DIGEST_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def stored_payload_hash(sha256_hex: str) -> str:
    """What the ledger keeps of a payload's SHA-256 (hex)."""
    return sha256_hex[:PAYLOAD_HASH_HEX_CHARS]
