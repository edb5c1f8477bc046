"""Status precedence: every pair of events in both orders, duplicates, and the documented rules."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks import names
from tasks.domain.ledger_codec import event_key_digest
from tasks.domain.ses_events import SesEvent, parse_ses_record
from tasks.domain.status import (
    MAX_ENGAGEMENT_EVENTS,
    Retention,
    Status,
    apply_event,
    higher,
    rank,
    status_for_event,
)
from tests.unit.helpers import ses_record

MESSAGE_ID = "ses-msg-1"
NOW = "2024-05-01T10:05:00.000Z"


def event(fixture: str, **changes: Any) -> SesEvent:
    return parse_ses_record(ses_record(fixture, message_id=MESSAGE_ID, order_id="ORD-1", **changes))


EVENTS: dict[str, SesEvent] = {
    "send": event("eventpub-send.json"),
    "delivery": event("eventpub-delivery.json"),
    "delay": event("eventpub-deliverydelay.json"),
    "bounce": event("eventpub-bounce-permanent.json"),
    "bounce-undetermined": event("eventpub-bounce-permanent.json", bounce={"bounceType": "Undetermined", "feedbackId": "fb-u"}),
    "bounce-transient": event(
        "eventpub-bounce-permanent.json", bounce={"bounceType": "Transient", "bounceSubType": "MailboxFull", "feedbackId": "fb-t"}
    ),
    "bounce-suppressed": event(
        "eventpub-bounce-permanent.json", bounce={"bounceSubType": "OnAccountSuppressionList", "feedbackId": "fb-s"}
    ),
    "complaint": event("eventpub-complaint-with-feedback.json"),
    "complaint-suppressed": event(
        "eventpub-complaint-with-feedback.json", complaint={"complaintSubType": "OnAccountSuppressionList", "feedbackId": "fb-c"}
    ),
    "reject": event("eventpub-reject.json"),
    "rendering-failure": event("eventpub-rendering-failure.json"),
    "open": event("eventpub-open.json"),
    "click": event("eventpub-click.json"),
    "subscription": event("eventpub-subscription.json"),
}
EXPECTED_STATUS = {
    "send": Status.SENT,
    "delivery": Status.DELIVERED,
    "delay": Status.DELAYED,
    "bounce": Status.BOUNCED,
    "bounce-undetermined": Status.BOUNCED,
    "bounce-transient": Status.DELAYED,
    "bounce-suppressed": Status.SUPPRESSED,
    "complaint": Status.COMPLAINED,
    "complaint-suppressed": Status.SUPPRESSED,
    "reject": Status.REJECTED,
    "rendering-failure": None,
    "open": None,
    "click": None,
    "subscription": None,
}
ORDER = ["PROCESSING", "SENT", "DELAYED", "DELIVERED", "BOUNCED", "REJECTED", "SUPPRESSED", "COMPLAINED"]
STARTS = ["PROCESSING", "SENT", "FAILED", "INVALID"]


def expected_final(start: str, event_names: Iterable[str]) -> str:
    """An independent oracle: the docs/LEDGER.md order; FAILED/INVALID lose to any SES status."""
    statuses = [EXPECTED_STATUS[name] for name in event_names if EXPECTED_STATUS[name] is not None]
    if not statuses:
        return start
    best = max(statuses, key=ORDER.index)
    if start in ("FAILED", "INVALID"):
        return best
    return max([start, best], key=ORDER.index)


def replay(start: str, sequence: Iterable[SesEvent], *, ses_message_id: str | None = MESSAGE_ID) -> dict[str, Any]:
    item: dict[str, Any] = {"orderId": "ORD-1", "status": start}
    if start in names.LEDGER_LISTED_STATUSES:
        item["listedStatus"] = start
    if ses_message_id:
        item["timeline"] = [{"type": "ATTEMPT_SENT", "at": "2024-05-01T10:00:00.000Z", "sesMessageId": ses_message_id}]
    for ses_event in sequence:
        changes = apply_event(item, ses_event, now=NOW)
        if changes is not None:  # a None value is a REMOVE
            item = {key: value for key, value in {**item, **changes}.items() if value is not None}
    return item


def listed(item: dict[str, Any]) -> str | None:
    """What the sparse index must hold for the item: its status when listed, else nothing."""
    return item["status"] if item["status"] in names.LEDGER_LISTED_STATUSES else None


def test_every_event_maps_as_documented() -> None:
    for name, ses_event in EVENTS.items():
        assert status_for_event(ses_event) == EXPECTED_STATUS[name], name


def test_ranks_form_the_documented_total_order() -> None:
    assert [rank(status) for status in ORDER] == sorted(rank(status) for status in ORDER)
    assert len({rank(status) for status in ORDER}) == len(ORDER)
    assert rank("FAILED") < rank("PROCESSING") and rank("INVALID") < rank("PROCESSING")
    assert set(Status) == set(names.LEDGER_STATUSES)
    assert higher(None, "SENT") == "SENT"
    assert higher("DELIVERED", "DELAYED") == "DELIVERED"
    assert higher("FAILED", "SENT") == "SENT"


PAIRS = list(itertools.product(STARTS, itertools.combinations_with_replacement(sorted(EVENTS), 2)))


@pytest.mark.parametrize(("start", "pair"), PAIRS, ids=[f"{start}:{a}+{b}" for start, (a, b) in PAIRS])
def test_every_pair_in_both_orders_gives_the_same_status(start: str, pair: tuple[str, str]) -> None:
    first, second = pair
    forward = replay(start, [EVENTS[first], EVENTS[second]])
    backward = replay(start, [EVENTS[second], EVENTS[first]])
    assert forward["status"] == backward["status"] == expected_final(start, pair)
    assert forward.get("eventKeys") == backward.get("eventKeys")
    assert len(forward["events"]) == len({EVENTS[first].key, EVENTS[second].key})
    assert forward.get("listedStatus") == backward.get("listedStatus") == listed(forward)


@settings(max_examples=150, deadline=None)
@given(
    start=st.sampled_from(STARTS),
    sequence=st.lists(st.sampled_from(sorted(EVENTS)), min_size=1, max_size=12),
    data=st.data(),
)
def test_any_permutation_with_duplicates_gives_the_same_status(start: str, sequence: list[str], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(sequence))
    one = replay(start, [EVENTS[name] for name in sequence])
    other = replay(start, [EVENTS[name] for name in shuffled])
    assert one["status"] == other["status"] == expected_final(start, sequence)
    assert one["eventKeys"] == other["eventKeys"] == {event_key_digest(EVENTS[name].key) for name in sequence}
    assert one.get("listedStatus") == other.get("listedStatus") == listed(one)


def test_a_duplicate_event_changes_nothing() -> None:
    item = replay("SENT", [EVENTS["delivery"]])
    assert apply_event(item, EVENTS["delivery"], now=NOW) is None


def test_delay_after_delivery_keeps_delivered_and_complaint_after_delivery_wins() -> None:
    assert replay("SENT", [EVENTS["delivery"], EVENTS["delay"]])["status"] == "DELIVERED"
    assert replay("SENT", [EVENTS["delivery"], EVENTS["complaint"]])["status"] == "COMPLAINED"
    assert replay("SENT", [EVENTS["delivery"], EVENTS["bounce-transient"]])["status"] == "DELIVERED"


def test_ses_status_replaces_failed_and_invalid() -> None:
    assert replay("FAILED", [EVENTS["send"]])["status"] == "SENT"
    assert replay("INVALID", [EVENTS["delay"]])["status"] == "DELAYED"
    assert replay("FAILED", [EVENTS["open"]])["status"] == "FAILED"


def test_the_update_carries_the_entry_key_digest_and_refers_to_the_mail_by_number() -> None:
    item = {"orderId": "ORD-1", "status": "SENT", "version": 3, "timeline": [
        {"type": "ATTEMPT_SENT", "sesMessageId": "ses-msg-0"}, {"type": "ATTEMPT_SENT", "sesMessageId": MESSAGE_ID}]}
    changes = apply_event(item, EVENTS["bounce"], now=NOW)
    assert changes is not None
    assert changes["status"] == changes["listedStatus"] == "BOUNCED"
    assert changes["updatedAt"] == NOW
    assert changes["eventKeys"] == {event_key_digest(EVENTS["bounce"].key)}
    assert len(event_key_digest(EVENTS["bounce"].key)) == 16
    assert "sesMessageId" not in changes  # the send is recorded in the timeline
    assert changes["events"] == [
        {
            "type": "Bounce",
            "at": "2017-08-05T00:41:02.669Z",
            "mail": 2,  # the second ATTEMPT_SENT: a re-send's bounce is not pinned on the first mail
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown",
        }
    ]


def test_an_event_for_a_send_not_recorded_yet_keeps_its_message_id() -> None:
    changes = apply_event({"orderId": "ORD-1", "status": "PROCESSING"}, EVENTS["delivery"], now=NOW)
    assert changes is not None
    assert changes["events"][0]["sesMessageId"] == MESSAGE_ID and "mail" not in changes["events"][0]


def test_a_raw_key_from_an_item_written_before_digests_still_counts_as_applied() -> None:
    assert apply_event({"status": "DELIVERED", "eventKeys": {EVENTS["delivery"].key}}, EVENTS["delivery"], now=NOW) is None


def test_send_event_repairs_an_unrecorded_send() -> None:
    item = replay("PROCESSING", [EVENTS["send"]], ses_message_id=None)
    assert item["status"] == "SENT"
    assert item["sesMessageId"] == MESSAGE_ID


def test_the_index_key_follows_the_status() -> None:
    delayed = replay("SENT", [EVENTS["delay"]])
    assert delayed["listedStatus"] == "DELAYED"
    assert "listedStatus" not in replay("SENT", [EVENTS["delay"], EVENTS["delivery"]])
    assert "listedStatus" not in replay("FAILED", [EVENTS["delivery"]])  # a FAILED order SES delivered after all
    assert replay("SENT", [EVENTS["delivery"], EVENTS["complaint"]])["listedStatus"] == "COMPLAINED"
    assert "listedStatus" not in replay("SENT", [EVENTS["open"]])


def test_engagement_events_are_capped() -> None:
    opens = [event("eventpub-open.json", open={"timestamp": f"2017-08-09T22:{minute:02d}:00.000Z"}) for minute in range(40)]
    item = replay("DELIVERED", opens)
    assert len(item["events"]) == MAX_ENGAGEMENT_EVENTS
    assert item["status"] == "DELIVERED"
    # a status-bearing event still gets in after the cap
    assert apply_event(item, EVENTS["complaint"], now=NOW)["status"] == "COMPLAINED"


def test_a_delivered_order_is_kept_for_the_delivered_retention_and_one_that_needs_a_look_for_longer() -> None:
    retention = Retention(delivered=30, listed=90)
    now_epoch = 1_714_557_900  # NOW, 2024-05-01T10:05:00Z
    claimed = {"orderId": "ORD-1", "status": "SENT", "expiresAt": Decimal(now_epoch + 90 * 86_400)}
    delivered = apply_event(claimed, EVENTS["delivery"], now=NOW, retention=retention)
    assert delivered is not None and delivered["expiresAt"] == now_epoch + 30 * 86_400
    after = {**claimed, **delivered}
    complained = apply_event(after, EVENTS["complaint"], now=NOW, retention=retention)
    assert complained is not None and complained["expiresAt"] == now_epoch + 90 * 86_400  # back to retentionDays
    opened = apply_event(after, EVENTS["open"], now=NOW, retention=retention)
    assert opened is not None and "expiresAt" not in opened  # no status change, no new expiry
    # Never lengthened by a delivery: an order already due sooner keeps its date.
    soon = {**claimed, "expiresAt": Decimal(now_epoch + 86_400)}
    assert "expiresAt" not in (apply_event(soon, EVENTS["delivery"], now=NOW, retention=retention) or {})
    assert "expiresAt" not in (apply_event(claimed, EVENTS["delivery"], now=NOW) or {})  # no retention: left alone
