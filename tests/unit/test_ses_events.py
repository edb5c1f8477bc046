"""Parsing SES feedback: every fixture, both formats, SNS and SNS-in-SQS wrapping, bad pieces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasks.domain.ses_events import (
    EVENT_TYPES,
    IgnoredSesRecord,
    MalformedSesRecord,
    parse_ses_record,
    records_from_lambda_event,
)
from tasks.domain.tags import encode_order_id
from tests.unit.helpers import (
    SES_EVENTS_DIR,
    load_event,
    ses_fixture_names,
    ses_record,
    sns_event,
    sqs_sns_event,
)

DOC_MESSAGE_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
NOTIFICATION_MESSAGE_ID = "NOTIF0000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000"

# fixture → (type, at, details that must be parsed)
EXPECTED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "eventpub-send.json": ("Send", "2016-10-14T05:02:16.645Z", {}),
    "eventpub-delivery.json": ("Delivery", "2016-10-19T23:21:04.133Z", {"processing_time_ms": 11893}),
    "eventpub-bounce-permanent.json": (
        "Bounce",
        "2017-08-05T00:41:02.669Z",
        {"bounce_type": "Permanent", "bounce_sub_type": "General", "diagnostic_code": "smtp; 550 5.1.1 user unknown"},
    ),
    "eventpub-complaint-with-feedback.json": ("Complaint", "2017-08-05T00:41:02.669Z", {"complaint_feedback_type": "abuse"}),
    "eventpub-reject.json": ("Reject", "2016-10-14T17:38:15.211Z", {"reason": "Bad content"}),
    "eventpub-deliverydelay.json": (
        "DeliveryDelay",
        "2020-06-16T00:25:40.095Z",
        {"delay_type": "TransientCommunicationFailure", "diagnostic_code": "smtp; 421 4.4.1 Unable to connect to remote host"},
    ),
    "eventpub-rendering-failure.json": (
        "RenderingFailure",
        "2018-01-22T18:43:06.197Z",
        {"reason": "Attribute 'attributeName' is not present in the rendering data."},
    ),
    "eventpub-open.json": ("Open", "2017-08-09T22:00:19.652Z", {}),
    "eventpub-click.json": ("Click", "2017-08-09T23:51:25.570Z", {}),
    "eventpub-subscription.json": ("Subscription", "2022-01-12T01:00:17.910Z", {}),
    "notification-bounce.json": (
        "Bounce",
        "2016-01-27T14:59:38.237Z",
        {"bounce_type": "Permanent", "bounce_sub_type": "General", "source_format": "notificationType"},
    ),
    "notification-complaint.json": (
        "Complaint",
        "2016-01-27T14:59:38.237Z",
        {"complaint_feedback_type": "abuse", "source_format": "notificationType"},
    ),
    "notification-delivery.json": (
        "Delivery",
        "2016-01-27T14:59:38.237Z",
        {"processing_time_ms": 1136, "source_format": "notificationType"},
    ),
}


def fixture(name: str) -> dict[str, Any]:
    return json.loads((SES_EVENTS_DIR / name).read_text(encoding="utf-8"))


def test_every_fixture_file_is_covered() -> None:
    assert set(ses_fixture_names()) == {*EXPECTED, "notification-subscription-succeeded.json"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_parses(name: str) -> None:
    event_type, at, details = EXPECTED[name]
    record = fixture(name)
    event = parse_ses_record(record)
    assert event.type == event_type
    assert event.at == at
    assert event.ses_message_id == record["mail"]["messageId"]
    assert event.mail_timestamp is not None
    assert event.key.startswith(f"{event_type}:{record['mail']['messageId']}:")
    assert event.order_id is None  # the documentation samples carry no orderId tag
    for field, value in details.items():
        assert getattr(event, field) == value, field


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_parses_through_sns_and_sns_in_sqs(name: str) -> None:
    record = fixture(name)
    direct = parse_ses_record(record)
    for event in (sns_event(record), sqs_sns_event(record), record):
        unwrapped = records_from_lambda_event(event)
        assert unwrapped.problems == []
        assert [parse_ses_record(item) for _, item in unwrapped.records] == [direct]


def test_recorded_lambda_events_unwrap() -> None:
    (where, record), = records_from_lambda_event(load_event("feedback/sns-ses-delivery.json")).records
    assert where == "Records[0]" and parse_ses_record(record).type == "Delivery"
    (where, record), = records_from_lambda_event(load_event("feedback/sqs-sns-ses-bounce.json")).records
    assert parse_ses_record(record).bounce_type == "Permanent"


def test_sqs_raw_delivery_body_is_the_ses_record() -> None:
    event = sqs_sns_event(fixture("eventpub-send.json"))
    event["Records"][0]["body"] = json.dumps(fixture("eventpub-send.json"))
    (_, record), = records_from_lambda_event(event).records
    assert parse_ses_record(record).type == "Send"


def test_rendering_failure_type_with_a_space_is_normalized() -> None:
    assert fixture("eventpub-rendering-failure.json")["eventType"] == "Rendering Failure"
    assert parse_ses_record(fixture("eventpub-rendering-failure.json")).type == "RenderingFailure"


def test_types_are_the_ses_event_publishing_names() -> None:
    parsed = {parse_ses_record(fixture(name)).type for name in EXPECTED}
    assert parsed == set(EVENT_TYPES)


def test_order_id_from_plain_and_encoded_tags() -> None:
    assert parse_ses_record(ses_record("eventpub-delivery.json", order_id="ORD-7")).order_id == "ORD-7"
    record = fixture("eventpub-delivery.json")
    record["mail"]["tags"]["orderIdB32"] = [encode_order_id("Bestellung 7/ä")]
    assert parse_ses_record(record).order_id == "Bestellung 7/ä"


def test_dedupe_keys_are_stable_and_distinct() -> None:
    delivery = fixture("eventpub-delivery.json")
    assert parse_ses_record(delivery).key == parse_ses_record(json.loads(json.dumps(delivery))).key
    bounce = parse_ses_record(fixture("eventpub-bounce-permanent.json"))
    assert bounce.key == f"Bounce:{DOC_MESSAGE_ID}:01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
    assert parse_ses_record(fixture("eventpub-send.json")).key == f"Send:{DOC_MESSAGE_ID}:"
    later_delay = ses_record("eventpub-deliverydelay.json", deliveryDelay={"timestamp": "2020-06-16T01:25:40.095Z"})
    assert parse_ses_record(later_delay).key != parse_ses_record(fixture("eventpub-deliverydelay.json")).key
    keys = [parse_ses_record(fixture(name)).key for name in EXPECTED]
    assert len(set(keys)) == len(keys)


def test_notification_format_events_share_the_message_id() -> None:
    ids = {parse_ses_record(fixture(name)).ses_message_id for name in EXPECTED if name.startswith("notification-")}
    assert ids == {NOTIFICATION_MESSAGE_ID}


def test_suppression_details_are_parsed() -> None:
    bounce = parse_ses_record(ses_record("eventpub-bounce-permanent.json", bounce={"bounceSubType": "OnAccountSuppressionList"}))
    assert bounce.bounce_sub_type == "OnAccountSuppressionList"
    complaint = parse_ses_record(
        ses_record("eventpub-complaint-with-feedback.json", complaint={"complaintSubType": "OnAccountSuppressionList"})
    )
    assert complaint.complaint_sub_type == complaint.reason == "OnAccountSuppressionList"


def test_event_without_its_own_timestamp_falls_back_to_the_mail_timestamp() -> None:
    record = fixture("eventpub-delivery.json")
    del record["delivery"]["timestamp"]
    assert parse_ses_record(record).at == "2016-10-19T23:20:52.240Z"


def test_subscription_notice_is_ignored_not_malformed() -> None:
    with pytest.raises(IgnoredSesRecord):
        parse_ses_record(fixture("notification-subscription-succeeded.json"))


def _broken(name: str, mutate: Any) -> dict[str, Any]:
    record = fixture(name)
    mutate(record)
    return record


MALFORMED = [
    ("not an object", ["eventType", "Send"]),
    ("no type", {"mail": {"messageId": "x", "timestamp": "2020-01-01T00:00:00Z"}}),
    ("unknown eventType", _broken("eventpub-send.json", lambda r: r.update(eventType="Teleport"))),
    ("eventType not a string", _broken("eventpub-send.json", lambda r: r.update(eventType=["Send"]))),
    ("unknown notificationType", _broken("notification-bounce.json", lambda r: r.update(notificationType="Received"))),
    ("no mail", _broken("eventpub-send.json", lambda r: r.pop("mail"))),
    ("mail not an object", _broken("eventpub-send.json", lambda r: r.update(mail="mail"))),
    ("no messageId", _broken("eventpub-send.json", lambda r: r["mail"].pop("messageId"))),
    ("messageId not a string", _broken("eventpub-send.json", lambda r: r["mail"].update(messageId=12))),
    ("details not an object", _broken("eventpub-bounce-permanent.json", lambda r: r.update(bounce="Permanent"))),
    (
        "no timestamp anywhere",
        _broken("eventpub-reject.json", lambda r: r["mail"].update(timestamp="not a time")),
    ),
]


@pytest.mark.parametrize("record", [case[1] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_records_raise_malformed(record: Any) -> None:
    with pytest.raises(MalformedSesRecord):
        parse_ses_record(record)


def test_odd_but_harmless_details_are_tolerated() -> None:
    record = fixture("eventpub-bounce-permanent.json")
    record["bounce"]["bouncedRecipients"] = "nobody"
    record["mail"]["tags"] = ["not", "a", "map"]
    event = parse_ses_record(record)
    assert event.diagnostic_code is None and event.order_id is None
    delivery = fixture("eventpub-delivery.json")
    delivery["delivery"]["processingTimeMillis"] = "fast"
    assert parse_ses_record(delivery).processing_time_ms is None


def test_bad_pieces_are_reported_and_the_good_ones_kept() -> None:
    good = fixture("eventpub-delivery.json")
    event = sns_event(good, "{not json", good)
    event["Records"].insert(1, "not a record")
    event["Records"].append({"Sns": {"Message": 42}})
    event["Records"].append({"unrelated": True})
    unwrapped = records_from_lambda_event(event)
    assert [where for where, _ in unwrapped.records] == ["Records[0]", "Records[3]"]
    assert [problem.where for problem in unwrapped.problems] == ["Records[1]", "Records[2]", "Records[4]", "Records[5]"]


@pytest.mark.parametrize("event", [None, [], "text", {"Records": "x"}, {"foo": 1}])
def test_unreadable_events_are_reported_not_raised(event: Any) -> None:
    unwrapped = records_from_lambda_event(event)
    assert unwrapped.records == [] and len(unwrapped.problems) == 1


def test_sqs_body_that_is_not_json_is_reported() -> None:
    event = sqs_sns_event(fixture("eventpub-send.json"))
    event["Records"][0]["body"] = "garbage"
    assert records_from_lambda_event(event).problems[0].where == "Records[0]"
