"""How the ledger stores what it keeps small (docs/LEDGER.md, "Item size").

A write costs one unit per started KB of the item, so the hot item stays under 1 KB:
- `request` (the message body, kept for replay) is raw DEFLATE (RFC 1951) in a binary attribute:
  an order's JSON shrinks to about 60 %. Items written before this layout, and INVALID items
  (whatever arrived, kept as it came), hold it as a string; `unpack_request` reads both.
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
EVENT_KEY_DIGEST_BYTES: Final = 12  # 96 bits: no collision among an order's few events


def pack_request(body: str) -> str:
    """The body as the base64 of its raw DEFLATE: what a `B` value takes in Step Functions' JSON."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(body.encode("utf-8")) + compressor.flush()
    return base64.b64encode(packed).decode("ascii")


def unpack_request(stored: object) -> str | None:
    """The original body from a stored `request` (bytes-like: DEFLATE; str: as it came)."""
    if isinstance(stored, str):
        return stored
    raw = getattr(stored, "value", stored)  # boto3's Binary wraps the bytes
    if isinstance(raw, bytes | bytearray):
        return zlib.decompress(bytes(raw), -15).decode("utf-8")
    return None


def event_key_digest(key: str) -> str:
    """What `eventKeys` stores for an SES event key (16 base64url characters)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()[:EVENT_KEY_DIGEST_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def stored_payload_hash(sha256_hex: str) -> str:
    """What the ledger keeps of a payload's SHA-256 (hex)."""
    return sha256_hex[:PAYLOAD_HASH_HEX_CHARS]
