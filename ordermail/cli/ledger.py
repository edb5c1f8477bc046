"""Reading the delivery ledger (DynamoDB) and turning items into status documents.

The status document itself (attempts joined from the timeline, SES events) is built by
`tasks.domain.ledger_view.order_view`, the same function the status API uses, so the CLI and the
API can never disagree about what happened to an order.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import NotFound
from ordermail.cli.timeutil import iso
from tasks import names

_DESERIALIZER = TypeDeserializer()
_BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's maximum keys per call


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


def order_view(item: dict[str, Any], *, local: bool = False) -> dict[str, Any]:
    """The status document; on a local endpoint without console links (there is no console)."""
    # Imported here: `ordermail cost` or `publish` must work without the domain package loaded.
    from tasks.domain.ledger_view import order_view as build_view

    view = build_view(item)
    if local:
        for attempt in view.get("attempts") or []:
            attempt["consoleUrl"] = None
    return view


class Ledger:
    def __init__(self, ctx: AwsContext) -> None:
        self.ctx = ctx

    @property
    def table(self) -> str:
        return self.ctx.output("LedgerTableName")

    def get(self, order_id: str) -> dict[str, Any] | None:
        """The item, deserialized; strongly consistent (the operator wants the latest word)."""
        response = self.ctx.client("dynamodb").get_item(
            TableName=self.table,
            Key={names.LEDGER_PARTITION_KEY: {"S": order_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def require(self, order_id: str) -> dict[str, Any]:
        item = self.get(order_id)
        if item is None:
            raise NotFound(f"order {order_id!r} not found in the ledger ({self.table})")
        return item

    def keys_by_status(self, status: str, since: datetime) -> Iterator[str]:
        """Order ids with this status updated since the time, newest first.

        Listed statuses come from the sparse byListedStatus index. The others (PROCESSING, SENT,
        DELIVERED: the normal path, deliberately kept out of the index) are found by a Scan, which
        reads the whole table: one read unit per 8 KB (eventually consistent).
        """
        client = self.ctx.client("dynamodb")
        if status in names.LEDGER_LISTED_STATUSES:
            pages = client.get_paginator("query").paginate(
                TableName=self.table,
                IndexName=names.LEDGER_STATUS_INDEX,
                KeyConditionExpression="#listed = :status AND updatedAt >= :since",
                ExpressionAttributeNames={"#listed": names.LEDGER_LISTED_STATUS_ATTRIBUTE},
                ExpressionAttributeValues={":status": {"S": status}, ":since": {"S": iso(since)}},
                ScanIndexForward=False,
            )
            for page in pages:
                for key in page.get("Items", []):
                    yield key[names.LEDGER_PARTITION_KEY]["S"]
            return
        found: list[tuple[str, str]] = []
        for page in client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="#status = :status AND updatedAt >= :since",
            ProjectionExpression="#pk, updatedAt",
            ExpressionAttributeNames={"#status": "status", "#pk": names.LEDGER_PARTITION_KEY},
            ExpressionAttributeValues={":status": {"S": status}, ":since": {"S": iso(since)}},
        ):
            found.extend((raw["updatedAt"]["S"], raw[names.LEDGER_PARTITION_KEY]["S"]) for raw in page.get("Items", []))
        for _, order_id in sorted(found, reverse=True):
            yield order_id

    def batch_get(self, order_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Full items for the ids (the index is keys-only), in the order given."""
        ids = list(dict.fromkeys(order_ids))
        found: dict[str, dict[str, Any]] = {}
        client = self.ctx.client("dynamodb")
        for start in range(0, len(ids), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{names.LEDGER_PARTITION_KEY: {"S": oid}} for oid in ids[start:start + _BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            delay = 0.05
            while request:
                response = client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table, []):
                    item = deserialize(raw)
                    found[str(item[names.LEDGER_PARTITION_KEY])] = item
                request = response.get("UnprocessedKeys") or {}
                if request:  # throttled: back off as the SDK guide says, then ask for the rest
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
        return [found[oid] for oid in ids if oid in found]

    def by_status(self, statuses: Iterable[str], since: datetime) -> list[dict[str, Any]]:
        statuses = list(statuses)
        ids: list[str] = []
        for status in statuses:
            ids.extend(self.keys_by_status(status, since))
        items = self.batch_get(ids)
        # The index is eventually consistent: drop items whose status moved on since.
        wanted = set(statuses)
        return [item for item in items if item.get("status") in wanted]


def lease_active(item: dict[str, Any], now_epoch: float | None = None) -> bool:
    """A PROCESSING claim whose lease has not expired: an execution may still be working on it."""
    lease = item.get("leaseUntil")
    if lease is None:
        return item.get("status") == "PROCESSING"  # no lease recorded: assume in flight, be safe
    current = time.time() if now_epoch is None else now_epoch
    return Decimal(str(lease)) >= Decimal(str(current))
