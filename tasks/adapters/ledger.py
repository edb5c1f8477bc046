"""The ledger table (docs/LEDGER.md) through the low-level DynamoDB client.

The client is built on first use (never at import) and honours AWS_ENDPOINT_URL like any boto3
client, so the same code talks to AWS, to moto in tests and to the local runtime. Items cross this
boundary as plain Python values (TypeSerializer / TypeDeserializer: numbers are Decimal).

Feedback updates use optimistic locking: read the item, compute the change with the pure
`apply_event`, write it on condition that `version` is still the one read (every writer, the state
machine included, does `ADD version :one`), and on a lost race read again and retry.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from tasks import clock, names
from tasks.domain.order import iso_utc_millis
from tasks.domain.ses_events import SesEvent
from tasks.domain.status import Retention, apply_event

MAX_LOCK_ATTEMPTS: Final = 5
BATCH_GET_LIMIT: Final = 100
_SERIALIZER: Final = TypeSerializer()
_DESERIALIZER: Final = TypeDeserializer()
_CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


class FeedbackOutcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"  # already applied (or nothing left to record)
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # no ledger item for the tag's orderId or the SES message id


@dataclass(frozen=True)
class FeedbackResult:
    outcome: FeedbackOutcome
    order_id: str | None = None
    item: dict[str, Any] | None = None  # the item as it was before this event
    changes: dict[str, Any] | None = None


class LedgerConflict(Exception):
    """The item kept changing under us: every optimistic-lock attempt lost its race."""


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(value) for key, value in item.items()}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


def _is_conditional_check_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Ledger:
    def __init__(self, table_name: str, *, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb", config=_CLIENT_CONFIG)
        return self._client

    # --- reads ----------------------------------------------------------------------------------

    def get(self, order_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={names.LEDGER_PARTITION_KEY: {"S": order_id}},
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        return deserialize_item(item) if item else None

    def recent_by_status(
        self, status: str, since_iso: str, limit: int, *, projection: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Items with `status` updated at or after `since_iso`, newest first, at most `limit`.

        Only the listed statuses (names.LEDGER_LISTED_STATUSES) are in the sparse index, which is
        keys-only and eventually consistent: the items are read back and the
        ones whose status has moved on since are left out.
        """
        order_ids: list[str] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": names.LEDGER_STATUS_INDEX,
            "KeyConditionExpression": "#listed = :status AND updatedAt >= :since",
            "ExpressionAttributeNames": {"#listed": names.LEDGER_LISTED_STATUS_ATTRIBUTE},
            "ExpressionAttributeValues": {":status": {"S": status}, ":since": {"S": since_iso}},
            "ScanIndexForward": False,
        }
        while len(order_ids) < limit:
            response = self.client.query(**request, Limit=limit - len(order_ids))
            for key in response.get("Items") or []:
                order_id = key[names.LEDGER_PARTITION_KEY]["S"]
                if order_id not in order_ids:
                    order_ids.append(order_id)
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        items = self.batch_get(order_ids, projection=projection)
        return [items[order_id] for order_id in order_ids if items.get(order_id, {}).get("status") == status]

    def batch_get(
        self, order_ids: Sequence[str], *, projection: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(order_ids), BATCH_GET_LIMIT):
            keys = [{names.LEDGER_PARTITION_KEY: {"S": order_id}} for order_id in order_ids[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {"Keys": keys}
            if projection:
                attributes = sorted({names.LEDGER_PARTITION_KEY, "status", *projection})
                request["ProjectionExpression"] = ", ".join(f"#p{index}" for index in range(len(attributes)))
                request["ExpressionAttributeNames"] = {f"#p{index}": name for index, name in enumerate(attributes)}
            pending: dict[str, Any] = {self.table_name: request}
            for attempt in range(6):
                response = self.client.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = deserialize_item(item)
                    found[plain[names.LEDGER_PARTITION_KEY]] = plain
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off before the rest
        return found

    # --- feedback -------------------------------------------------------------------------------

    def _locate(self, event: SesEvent) -> tuple[str, dict[str, Any]] | None:
        """The order an event belongs to: the mail's orderId tag, or its orderId header."""
        if not event.order_id:
            return None
        # Eventually consistent: half the read units. An event usually arrives seconds after the
        # workflow's last write; a stale read only loses the version race, and the retry reads
        # consistently.
        item = self.get(event.order_id, consistent=False) or self.get(event.order_id)  # absent: make sure
        return (event.order_id, item) if item is not None else None

    def _write(self, order_id: str, changes: Mapping[str, Any], seen_version: object) -> None:
        attribute_names = {"#version": "version"}
        values: dict[str, Any] = {":one": {"N": "1"}}
        assignments = []
        removals = []
        for index, (name, value) in enumerate(sorted(changes.items())):
            attribute_names[f"#a{index}"] = name
            if value is None:  # apply_event's way of saying REMOVE
                removals.append(f"#a{index}")
                continue
            values[f":v{index}"] = _SERIALIZER.serialize(value)
            assignments.append(f"#a{index} = :v{index}")
        if seen_version is None:
            condition = "attribute_exists(#pk) AND attribute_not_exists(#version)"
            attribute_names["#pk"] = names.LEDGER_PARTITION_KEY
        else:
            condition = "#version = :seen"
            values[":seen"] = _SERIALIZER.serialize(seen_version)
        self.client.update_item(
            TableName=self.table_name,
            Key={names.LEDGER_PARTITION_KEY: {"S": order_id}},
            UpdateExpression=f"SET {', '.join(assignments)} ADD #version :one"
            + (f" REMOVE {', '.join(removals)}" if removals else ""),
            ConditionExpression=condition,
            ExpressionAttributeNames=attribute_names,
            ExpressionAttributeValues=values,
        )

    def apply_feedback(
        self, event: SesEvent, *, now: str | None = None, retention: Retention | None = None
    ) -> FeedbackResult:
        """Apply one SES event to its order. Raises LedgerConflict or botocore errors (retry later).

        `now` (ISO, milliseconds) becomes `updatedAt`; default: the current time. `retention`: how
        long a delivered order, and one in a listed status, is kept (status.apply_event).
        """
        now = now or iso_utc_millis(clock.utc_now())
        located = self._locate(event)
        if located is None:
            return FeedbackResult(FeedbackOutcome.UNKNOWN_ORDER)
        order_id, item = located
        for _ in range(MAX_LOCK_ATTEMPTS):
            changes = apply_event(item, event, now=now, retention=retention)
            if changes is None:
                return FeedbackResult(FeedbackOutcome.DUPLICATE, order_id, item)
            try:
                self._write(order_id, changes, item.get("version"))
            except ClientError as error:
                if not _is_conditional_check_failure(error):
                    raise
                fresh = self.get(order_id)  # someone wrote in between: start again from their version
                if fresh is None:
                    return FeedbackResult(FeedbackOutcome.UNKNOWN_ORDER, order_id)
                item = fresh
                continue
            return FeedbackResult(FeedbackOutcome.APPLIED, order_id, item, changes)
        raise LedgerConflict(f"order {order_id}: gave up after {MAX_LOCK_ATTEMPTS} concurrent updates")


@functools.lru_cache(maxsize=4)
def _cached_ledger(table_name: str, endpoint_url: str | None) -> Ledger:
    return Ledger(table_name)


def ledger_for_table(table_name: str) -> Ledger:
    """One Ledger (and one client) per table for the life of the Lambda container.

    Keyed on AWS_ENDPOINT_URL too: a process that points boto3 elsewhere (the local runtime)
    gets a client for the new endpoint.
    """
    return _cached_ledger(table_name, os.environ.get("AWS_ENDPOINT_URL"))


def reset_ledger_cache() -> None:
    """Forget cached clients (tests: a client must be built inside the moto mock)."""
    _cached_ledger.cache_clear()
