"""The benchmark's invariants, checked from the ledger, the outbox and the queues after every run.

1. every distinct valid order has exactly one mail and its terminal status (DELIVERED, BOUNCED or
   COMPLAINED, as the mailbox simulator decides) — checked after the FAILED orders were replayed;
2. no order has two mails (runtime's record of SES sends and the `.eml` files agree);
3. every input is accounted for: a ledger item with a status, or a dead-letter message (with the
   ledger's last error as its reason);
4. invalid inputs sent nothing and are recorded INVALID;
5. replaying every FAILED order once brings it to SENT (or later) without a duplicate.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from boto3.dynamodb.types import TypeDeserializer

from tasks import names
from tasks.domain.ledger_view import request_body
from tasks.domain.tags import order_id_from_headers

from .workload import Input

MAILED_STATUSES: Final = frozenset(names.LEDGER_SENT_STATUSES)
TERMINAL_FOR_MAIL: Final = frozenset({"DELIVERED", "BOUNCED", "COMPLAINED", "SUPPRESSED", "REJECTED", "FAILED"})
_DESERIALIZER = TypeDeserializer()
_ORDER_HEADER = re.compile(rb"^X-OrderMail-Order-Id: (.*)$", re.MULTILINE | re.IGNORECASE)


def ledger_items(runtime: Any) -> dict[str, dict[str, Any]]:
    """Every ledger item, through the DynamoDB API (a paginated Scan), deserialized."""
    client = runtime.client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=runtime.outputs["LedgerTableName"]):
        for raw in page.get("Items", []):
            item = {key: _DESERIALIZER.deserialize(value) for key, value in raw.items()}
            items[str(item[names.LEDGER_PARTITION_KEY])] = item
    return items


def ledger_table(runtime: Any) -> Any:
    """The runtime's ledger as moto holds it (a `Table`; in fast mode its `items` is a
    compact_items.CompactItems), for reads that must not go through the API."""
    from moto.dynamodb.models import dynamodb_backends

    from ordermail.emulator.provision import ACCOUNT_ID

    return dynamodb_backends[ACCOUNT_ID][runtime.region].get_table(runtime.outputs["LedgerTableName"])


def ledger_statuses(runtime: Any) -> dict[str, str]:
    """orderId → status, read straight from the runtime's table (a cheap poll while settling)."""
    from ordermail.emulator.compact_items import CompactItems

    table = ledger_table(runtime)
    if isinstance(table.items, CompactItems):  # fast mode: without decoding every item once a second
        return {str(key): status or "" for key, status in table.items.peek("status").items()}
    statuses = {}
    for item in list(table.items.values()):
        status = item.attrs.get("status")
        statuses[str(item.hash_key.value)] = str(status.value) if status is not None else ""
    return statuses


def item_sizes(runtime: Any, keys: list[str]) -> list[int]:
    """Stored bytes of these ledger items as they are now, as DynamoDB bills storage: the item
    (meters.item_size) plus, for an item in the sparse index, its entry (keys + 100 bytes)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    from ordermail.bench.meters import item_size
    from ordermail.emulator.compact_items import CompactItems

    table = ledger_table(runtime)
    # Read-only: in fast mode, decoded copies that do not stay in memory (compact_items.CompactItems).
    get = table.items.read if isinstance(table.items, CompactItems) else table.items.get
    sizes = []
    for key in keys:
        item = get(DynamoType({"S": key}))
        if item is not None:
            listed = item.attrs.get(names.LEDGER_LISTED_STATUS_ATTRIBUTE)
            index_entry = 0 if listed is None else len(key) + len(str(listed.value)) + 24 + 100
            sizes.append(item_size(item) + index_entry)
    return sizes


def dlq_bodies(runtime: Any) -> list[str]:
    """The dead-letter queue's message bodies, read without receiving them (nothing changes)."""
    from moto.sqs import sqs_backends

    from ordermail.emulator.provision import ACCOUNT_ID

    queue = sqs_backends[ACCOUNT_ID][runtime.region].get_queue(runtime.names["orders_dlq"])
    return [message.body for message in list(queue._messages)]


def outbox_order_ids(directory: Path) -> Counter[str]:
    """orderId → number of `.eml` files in the outbox (from the X-OrderMail-Order-Id header SendEmail set)."""
    counts: Counter[str] = Counter()
    if not directory.exists():
        return counts
    from email.header import decode_header, make_header

    for path in directory.glob("*.eml"):
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        match = _ORDER_HEADER.search(head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ").replace(b"\r", b""))
        if match:
            value = str(make_header(decode_header(match.group(1).decode("ascii", "replace").strip())))
            counts[order_id_from_headers([{"name": names.ORDER_ID_HEADER, "value": value}]) or value] += 1
    return counts


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "examples": self.examples[:5]}


@dataclass
class Verdict:
    checks: list[Check]
    lost: int
    duplicate_mails: int
    statuses: Counter[str]
    failed_before_replay: int
    replayed: int
    dlq_messages: int
    invalid_reasons_as_expected: tuple[int, int]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "lost": self.lost,
            "duplicate_mails": self.duplicate_mails,
            "failed_before_replay": self.failed_before_replay,
            "replayed": self.replayed,
            "dlq_messages": self.dlq_messages,
            "statuses": dict(sorted(self.statuses.items())),
            "invalid_reasons_as_expected": list(self.invalid_reasons_as_expected),
            "checks": [check.as_dict() for check in self.checks],
        }


def mails_by_order(runtime: Any) -> Counter[str]:
    return Counter(mail.order_id for mail in runtime.sent_mails() if mail.order_id is not None)


def dlq_keys(bodies: list[str], inputs: list[Input]) -> Counter[str]:
    by_body: dict[str, str] = {}
    for item in inputs:
        by_body[item.body] = item.key
        for repeat in item.repeats:
            by_body[repeat.body] = item.key
    return Counter(by_body.get(body, "?unknown") for body in bodies)


def check(
    *,
    inputs: list[Input],
    items: dict[str, dict[str, Any]],
    mails: Counter[str],
    outbox: Counter[str] | None,
    dlq: Counter[str],
    failed_before_replay: list[str],
    replayed: list[str],
    mails_before_replay: Counter[str] | None,
    all_inputs: list[Input] | None = None,
) -> Verdict:
    """Judge one run (after its replay step). `all_inputs`: every run's inputs so far, for global checks."""
    checks: list[Check] = []
    valid = [item for item in inputs if item.expects_mail]
    invalid = [item for item in inputs if not item.expects_mail]

    # 1. exactly one mail and the expected terminal status, for every distinct valid order
    lost = [item.key for item in valid if mails.get(item.key, 0) == 0]
    wrong_status = [
        f"{item.key}: {items.get(item.key, {}).get('status')} (expected {item.expected_status})"
        for item in valid
        if items.get(item.key, {}).get("status") != item.expected_status
    ]
    checks.append(Check("every valid order: exactly one mail", not lost and not _over(valid, mails),
                        f"{len(valid) - len(lost)} of {len(valid)} valid orders have a mail; {len(lost)} lost",
                        lost))
    checks.append(Check("every valid order: its terminal status", not wrong_status,
                        f"{len(valid) - len(wrong_status)} of {len(valid)} have the simulator's status "
                        "(DELIVERED / BOUNCED / COMPLAINED)", wrong_status))

    # 2. no order has two mails (across every run so far) and the outbox agrees with the SES record
    everyone = all_inputs or inputs
    duplicated = {key: count for key, count in mails.items() if count > 1}
    checks.append(Check("no order has two mails", not duplicated,
                        f"{sum(count - 1 for count in duplicated.values())} duplicate mails over "
                        f"{sum(mails.values())} sent", [f"{k}: {v}" for k, v in duplicated.items()]))
    if outbox is not None:
        disagree = [key for key in set(mails) | set(outbox) if mails.get(key, 0) != outbox.get(key, 0)]
        checks.append(Check("outbox files match the mails SES accepted", not disagree,
                            f"{sum(outbox.values())} .eml files, {sum(mails.values())} mails accepted",
                            disagree))
    known = {item.key for item in everyone}
    strangers = [key for key in mails if key not in known]
    checks.append(Check("no mail for an order nobody published", not strangers,
                        f"{len(strangers)} mails for unknown orderIds", strangers))

    # 3. every input accounted for: a ledger status, or a DLQ message with a reason
    unaccounted = []
    in_dlq = []
    for item in inputs:
        status = items.get(item.key, {}).get("status")
        if status:
            continue
        if dlq.get(item.key):
            in_dlq.append(f"{item.key}: {items.get(item.key, {}).get('lastError') or 'no ledger item'}")
            continue
        unaccounted.append(item.key)
    stuck = [item.key for item in inputs if items.get(item.key, {}).get("status") == "PROCESSING"]
    checks.append(Check("every input accounted for (ledger status or DLQ message)", not unaccounted and not stuck,
                        f"{len(inputs) - len(unaccounted)} of {len(inputs)} accounted; {len(in_dlq)} only in the "
                        f"DLQ; {len(stuck)} stuck PROCESSING", unaccounted + stuck))

    # 4. invalid inputs sent nothing and are INVALID
    mailed_invalid = [item.key for item in invalid if mails.get(item.key, 0)]
    not_invalid = [f"{item.key}: {items.get(item.key, {}).get('status')}" for item in invalid
                   if items.get(item.key, {}).get("status") != "INVALID"]
    checks.append(Check("invalid inputs sent nothing and are INVALID", not mailed_invalid and not not_invalid,
                        f"{len(invalid)} invalid inputs; {len(mailed_invalid)} mailed; {len(not_invalid)} not INVALID",
                        mailed_invalid + not_invalid))
    reasons_ok = sum(1 for item in invalid if items.get(item.key, {}).get("invalidReason") == item.invalid_reason)

    # 5. replay: every FAILED order replayed once is now mailed, once
    not_recovered = [f"{key}: {items.get(key, {}).get('status')}, {mails.get(key, 0)} mails" for key in failed_before_replay
                     if items.get(key, {}).get("status") not in MAILED_STATUSES or mails.get(key, 0) != 1]
    grew = []
    if mails_before_replay is not None:
        grew = [key for key, count in mails.items() if key not in failed_before_replay
                and count != mails_before_replay.get(key, 0)]
    checks.append(Check("replaying every FAILED order once brings it to SENT, no duplicates",
                        not not_recovered and not grew and len(replayed) == len(failed_before_replay),
                        f"{len(failed_before_replay)} FAILED before replay, {len(replayed)} replayed, "
                        f"{len(failed_before_replay) - len(not_recovered)} now mailed once; "
                        f"{len(grew)} other orders changed mail count", not_recovered + grew))

    statuses = Counter(str(items.get(item.key, {}).get("status") or "MISSING") for item in inputs)
    return Verdict(
        checks=checks,
        lost=len(lost),
        duplicate_mails=sum(count - 1 for count in duplicated.values()),
        statuses=statuses,
        failed_before_replay=len(failed_before_replay),
        replayed=len(replayed),
        dlq_messages=sum(dlq.values()),
        invalid_reasons_as_expected=(reasons_ok, len(invalid)),
    )


def _over(valid: list[Input], mails: Counter[str]) -> list[str]:
    return [item.key for item in valid if mails.get(item.key, 0) > 1]


def replay_failed(runtime: Any, items: dict[str, dict[str, Any]], keys: list[str]) -> list[str]:
    """What `ordermail replay --status FAILED` does: the stored request back on the orders queue."""
    try:
        from ordermail.cli.requeue import base_attributes, replay_refusal
    except ImportError:  # the CLI is optional for the benchmark: the same rule, inline
        def base_attributes() -> dict[str, dict[str, str]]:
            return {names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}}

        def replay_refusal(item: dict[str, Any], now_epoch: float | None = None) -> str | None:
            return None if item.get("status") == "FAILED" and item.get("request") else "not replayable"

    sqs = runtime.client("sqs")
    replayed = []
    for key in keys:
        item = items[key]
        if replay_refusal(item) is not None:
            continue
        attributes = base_attributes()
        attributes[names.REPLAY_ATTRIBUTE] = {"DataType": "String", "StringValue": "bench"}
        sqs.send_message(QueueUrl=runtime.outputs["OrdersQueueUrl"], MessageBody=request_body(item) or "",
                         MessageAttributes=attributes)
        replayed.append(key)
    return replayed


def summarize_failures(items: dict[str, dict[str, Any]], keys: list[str]) -> Counter[str]:
    return Counter(str(items.get(key, {}).get("lastError") or "?") for key in keys)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
