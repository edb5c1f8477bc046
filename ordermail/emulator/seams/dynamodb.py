"""DynamoDB item writes made atomic, as DynamoDB makes them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moto.dynamodb.responses import DynamoHandler

if TYPE_CHECKING:
    from .patches import Patches

_DYNAMO_WRITE_ACTIONS = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")

SEAMS: dict[str, tuple[object, str]] = {
    f"dynamodb_handler_{action}": (DynamoHandler, action) for action in _DYNAMO_WRITE_ACTIONS
}


def install_ddb_atomic_writes(patches: Patches, *, after_write: Callable[[], None] | None = None) -> None:
    """Seam `dynamodb_handler`: make each item write atomic, as DynamoDB does.

    moto applies a conditional write in steps (read the item, evaluate the condition, write) with no
    lock, so two requests in two threads can both pass `attribute_not_exists(orderId)` and both
    "win" the claim: the workflow then sends two mails where AWS would have refused the second
    claim (found by the benchmark with concurrent duplicate deliveries). One lock serializes the
    write actions; reads stay concurrent. Install it before any other DynamoDB hook (innermost).
    `after_write` runs inside the lock after each write action, failed or not (memory.py: the
    compact item store encodes the items the write touched).
    """
    lock = threading.RLock()
    for action in _DYNAMO_WRITE_ACTIONS:
        original = getattr(DynamoHandler, action)

        def atomic(self: DynamoHandler, _original: Any = original) -> Any:
            with lock:
                try:
                    return _original(self)
                finally:
                    if after_write is not None:
                        after_write()

        patches.replace(DynamoHandler, action, atomic)
