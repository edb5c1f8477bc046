"""Queue speed (fast mode): moto's SQS queue scans every message, reading the clock for each, on
every send, receive and delete; a lazy view and a one-pass delete keep bursts linear."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moto.sqs.models import Queue as SqsQueue

if TYPE_CHECKING:
    from .patches import Patches

SEAMS: dict[str, tuple[object, str]] = {
    **{f"sqs_queue_{name}": (SqsQueue, name) for name in (
        "messages", "approximate_number_of_messages", "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed", "delete_message")},
}


class _VisibleMessages:
    """`Queue.messages` as a lazy view: visible and not delayed, in queue order, one clock read."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def _scan(self) -> Any:
        from moto.sqs import models as sqs_models

        now = sqs_models.unix_time_millis()
        for message in self._queue._messages:
            if now > message.visible_at and not now < message.delayed_until:
                yield message

    def __iter__(self) -> Any:
        return self._scan()

    def __len__(self) -> int:
        return sum(1 for _ in self._scan())

    def __bool__(self) -> bool:
        return any(True for _ in self._scan())


def install_sqs_fast_paths(patches: Patches) -> None:
    """Seams `sqs_queue_messages`, `sqs_queue_delete` (fast mode only).

    moto keeps a queue's messages in one list and reads the clock once per message per check:
    every ReceiveMessage first builds the list of all visible messages (`Queue.messages`), every
    SendMessage computes all queue attributes — three more scans — to read one flag, and
    DeleteMessage scans twice. With thousands of orders queued (a burst) each request costs tens of
    milliseconds and the run goes quadratic. Here: a lazy view (a receive stops at the first
    visible message), one clock read per count, a one-pass delete. Same order, same rules.
    """
    from moto.sqs import models as sqs_models

    queue_class = sqs_models.Queue

    def _count(queue: Any, predicate: Callable[[Any, float], bool]) -> int:
        now = sqs_models.unix_time_millis()
        return sum(1 for message in queue._messages if predicate(message, now))

    patches.replace(queue_class, "messages", property(lambda self: _VisibleMessages(self)))
    patches.replace(queue_class, "approximate_number_of_messages",
                    property(lambda self: len(_VisibleMessages(self))))
    patches.replace(queue_class, "approximate_number_of_messages_not_visible",
                    property(lambda self: _count(self, lambda m, now: not now > m.visible_at)))
    patches.replace(queue_class, "approximate_number_of_messages_delayed",
                    property(lambda self: _count(self, lambda m, now: now < m.delayed_until)))

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: moto (and SQS) accept it again
        messages = self._messages
        for position, message in enumerate(messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
                # A new list, as moto does: a receive in another thread may be iterating the old one.
                self._messages = messages[:position] + messages[position + 1:]
                return
        raise sqs_models.ReceiptHandleIsInvalid()

    patches.replace(queue_class, "delete_message", delete_message)
