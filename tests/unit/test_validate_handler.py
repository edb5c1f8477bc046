"""The Validate Lambda: output shape for the ASL, sandbox guard, resend, InvalidOrder documents."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tasks import clock, names
from tasks.domain.ledger_codec import unpack_request
from tasks.validate import InvalidOrder, UnexpectedBatch, handler
from tests.unit.helpers import load_event, pipe_event, sample_order, string_attribute

ASL_PATH = Path(__file__).resolve().parents[2] / "asl" / "order_email.asl.json"
NOW = datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
NOW_EPOCH = int(NOW.timestamp())


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)


def invalid(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    with pytest.raises(InvalidOrder) as caught:
        handler(event, lambda_context)
    assert type(caught.value).__name__ == "InvalidOrder"  # the Lambda errorType the ASL catches
    return json.loads(str(caught.value))


def test_output_has_every_field_the_state_machine_reads(lambda_context: Any) -> None:
    validated = handler(load_event("validate/pipe-order.json"), lambda_context)
    referenced = set(re.findall(r"\$\.validated\.([A-Za-z]+)", ASL_PATH.read_text(encoding="utf-8")))
    assert referenced - {"resend"} <= set(validated), referenced - set(validated)
    json.dumps(validated)  # what the Lambda runtime does with it


def test_output_values(lambda_context: Any) -> None:
    event = load_event("validate/pipe-order.json")
    validated = handler(event, lambda_context)
    assert validated["orderId"] == "ORD-1001"
    assert "request" not in validated  # the ASL stores the raw body from the SQS record itself
    assert validated["recipient"] == "jane.doe@example.com"
    assert validated["deliverTo"] == "success@simulator.amazonses.com"  # sandbox is the default
    assert validated["order"]["total"] == "66.99"
    assert validated["order"]["items"][1]["unitPrice"] == "29.99"
    assert validated["order"]["currency"] == "USD"
    assert validated["order"]["customerName"] == "Jane Doe"
    assert validated["order"]["customerEmail"] == "jane.doe@example.com"
    assert validated["order"]["metadata"] == {"channel": "web", "campaign": "spring"}
    assert validated["order"]["timestamp"] == "2024-05-01T10:00:00Z"
    assert re.fullmatch(r"[0-9a-f]{32}", validated["payloadHash"])  # 128 bits of the SHA-256 (ledger_codec)
    assert unpack_request(base64.b64decode(validated["requestZ"])) == event["records"][0]["body"]
    assert validated["headers"] == [{"Name": "X-OrderMail-Order-Id", "Value": "ORD-1001"}]
    assert validated["nowEpoch"] == str(NOW_EPOCH)
    assert validated["leaseUntil"] == str(NOW_EPOCH + names.CLAIM_LEASE_SECONDS)
    assert validated["expiresAt"] == str(NOW_EPOCH + 90 * 86_400)
    assert validated["receiveCount"] == "1"
    assert validated["messageId"] == event["records"][0]["messageId"]
    assert validated["emailTags"] == [{"Name": "orderId", "Value": "ORD-1001"}, {"Name": "environment", "Value": "dev"}]
    assert "resend" not in validated  # the ASL branches on IsPresent


def test_settings_shape_the_output(lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_CLAIM_LEASE_SECONDS, "100")
    monkeypatch.setenv(names.ENV_RETENTION_DAYS, "7")
    monkeypatch.setenv(names.ENV_ENVIRONMENT, "test")
    validated = handler(pipe_event(json.dumps(sample_order()), receive_count="4"), lambda_context)
    assert validated["leaseUntil"] == str(NOW_EPOCH + 100)
    assert validated["expiresAt"] == str(NOW_EPOCH + 7 * 86_400)
    assert validated["receiveCount"] == "4"
    assert {"Name": "environment", "Value": "test"} in validated["emailTags"]


def test_same_order_same_hash_whatever_its_formatting(lambda_context: Any) -> None:
    compact = handler(pipe_event(json.dumps(sample_order(), separators=(",", ":"))), lambda_context)
    pretty = handler(pipe_event(json.dumps(sample_order(), indent=4)), lambda_context)
    assert compact["payloadHash"] == pretty["payloadHash"]


@pytest.mark.parametrize(
    ("sandbox", "customer", "delivered_to"),
    [
        ("true", "jane.doe@example.com", "success@simulator.amazonses.com"),
        ("true", "bounce@simulator.amazonses.com", "bounce@simulator.amazonses.com"),
        ("true", "complaint+order7@SIMULATOR.amazonses.com", "complaint+order7@simulator.amazonses.com"),
        ("true", "someone@amazonses.com", "success@simulator.amazonses.com"),
        ("false", "jane.doe@example.com", "jane.doe@example.com"),
        ("false", "bounce@simulator.amazonses.com", "bounce@simulator.amazonses.com"),
    ],
)
def test_sandbox_guard(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch, sandbox: str, customer: str, delivered_to: str
) -> None:
    monkeypatch.setenv(names.ENV_SES_SANDBOX, sandbox)
    validated = handler(pipe_event(json.dumps(sample_order(customerEmail=customer))), lambda_context)
    assert validated["deliverTo"] == delivered_to
    assert validated["recipient"] == customer.replace("SIMULATOR", "simulator")


def test_sandbox_recipient_is_configurable(lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_SANDBOX_RECIPIENT, "ops@shop.example")
    assert handler(load_event("validate/pipe-order.json"), lambda_context)["deliverTo"] == "ops@shop.example"


def test_resend_is_extracted_from_message_attributes(lambda_context: Any) -> None:
    validated = handler(load_event("validate/pipe-resend.json"), lambda_context)
    assert validated["resend"] == {
        "id": "rs-7f3a",
        "by": "arn:aws:iam::123456789012:user/alice",
        "reason": "customer lost the mail",
    }


def test_resend_without_by_and_reason_gets_defaults(lambda_context: Any) -> None:
    attributes = {names.RESEND_ID_ATTRIBUTE: string_attribute("rs-1")}
    validated = handler(pipe_event(json.dumps(sample_order()), message_attributes=attributes), lambda_context)
    assert validated["resend"] == {"id": "rs-1", "by": "unknown", "reason": ""}


def test_resend_text_is_flattened_to_one_line(lambda_context: Any) -> None:
    attributes = {
        names.RESEND_ID_ATTRIBUTE: string_attribute("rs-2"),
        names.RESEND_REASON_ATTRIBUTE: string_attribute("line one\nline two"),
    }
    validated = handler(pipe_event(json.dumps(sample_order()), message_attributes=attributes), lambda_context)
    assert validated["resend"]["reason"] == "line one line two"


def test_blank_resend_id_is_invalid(lambda_context: Any) -> None:
    attributes = {names.RESEND_ID_ATTRIBUTE: string_attribute("  ")}
    document = invalid(pipe_event(json.dumps(sample_order()), message_attributes=attributes), lambda_context)
    assert document["reason"] == "invalid_resend"
    assert document["key"] == "ORD-1001"


def test_other_message_attributes_do_not_make_a_resend(lambda_context: Any) -> None:
    attributes = {names.REPLAY_ATTRIBUTE: string_attribute("true"), "eventType": string_attribute("OrderConfirmed")}
    assert "resend" not in handler(pipe_event(json.dumps(sample_order()), message_attributes=attributes), lambda_context)


# --- InvalidOrder ------------------------------------------------------------------------------


def test_invalid_order_document_for_a_body_with_an_order_id(lambda_context: Any) -> None:
    body = json.dumps(sample_order(total="1.00"))
    document = invalid(pipe_event(body), lambda_context)
    # No part of the body: the Lambda runtime logs the error message, and the body holds PII.
    assert set(document) == {"key", "orderId", "reason", "message", "payloadHash", "expiresAt"}
    assert "jane" not in str(document).lower()
    assert document["key"] == document["orderId"] == "ORD-1001"
    assert document["reason"] == "total_mismatch"
    assert document["message"].startswith("total: ")
    assert document["payloadHash"] == hashlib.sha256(body.encode()).hexdigest()[:32]
    assert document["expiresAt"] == str(NOW_EPOCH + 90 * 86_400)


def test_invalid_order_document_without_an_order_id(lambda_context: Any) -> None:
    event = load_event("validate/pipe-not-json.json")
    document = invalid(event, lambda_context)
    digest = hashlib.sha256(b"this is not json").hexdigest()
    assert document["key"] == f"invalid-{digest[:32]}"
    assert document["orderId"] is None
    assert document["reason"] == "not_json"
    assert "this is not json" not in json.dumps(document)


def test_the_asl_can_parse_the_error_the_lambda_runtime_reports(lambda_context: Any) -> None:
    """ParseInvalidCause: States.StringToJson($.Cause) then States.StringToJson($.cause.errorMessage)."""
    with pytest.raises(InvalidOrder) as caught:
        handler(load_event("validate/pipe-not-json.json"), lambda_context)
    cause = json.dumps({"errorMessage": str(caught.value), "errorType": "InvalidOrder", "stackTrace": []})
    assert json.loads(json.loads(cause)["errorMessage"])["reason"] == "not_json"


def test_too_large_order_is_rejected_under_its_order_id(lambda_context: Any) -> None:
    body = json.dumps(sample_order(metadata={"padding": "é" * 125_000}), ensure_ascii=False)  # 250 KB
    document = invalid(pipe_event(body), lambda_context)
    assert document["reason"] == "too_large"
    assert document["key"] == "ORD-1001"
    assert document["payloadHash"] == hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def test_error_stays_within_the_step_functions_cause_limit(lambda_context: Any) -> None:
    body = "\x01" * 60_000  # every character escapes to \\u0001 twice
    with pytest.raises(InvalidOrder) as caught:
        handler(pipe_event(body), lambda_context)
    assert len(json.dumps({"errorMessage": str(caught.value), "errorType": "InvalidOrder"})) < 32_768


@pytest.mark.parametrize(
    "event",
    [
        {"records": [], "executionArn": "arn"},
        {"records": "not a list"},
        {"executionArn": "arn"},
        {"records": None},
    ],
)
def test_no_records_is_invalid(lambda_context: Any, event: dict[str, Any]) -> None:
    document = invalid(event, lambda_context)
    assert document["reason"] == "no_records"
    assert document["key"].startswith("invalid-")


def test_record_that_is_not_an_object_is_invalid(lambda_context: Any) -> None:
    assert invalid({"records": ["body"]}, lambda_context)["reason"] == "invalid_record"


def test_record_without_a_body_is_invalid(lambda_context: Any) -> None:
    event = load_event("validate/pipe-order.json")
    del event["records"][0]["body"]
    assert invalid(event, lambda_context)["reason"] == "wrong_type"


def test_more_than_one_record_fails_the_execution(lambda_context: Any) -> None:
    event = load_event("validate/pipe-order.json")
    event["records"].append(event["records"][0])
    with pytest.raises(UnexpectedBatch):
        handler(event, lambda_context)


def test_logs_carry_the_order_id_but_never_the_customer(
    lambda_context: Any, captured_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    handler(load_event("validate/pipe-order.json"), lambda_context)
    with pytest.raises(InvalidOrder):
        handler(pipe_event(json.dumps(sample_order(total="0.01"))), lambda_context)
    with pytest.raises(InvalidOrder):
        handler(pipe_event(json.dumps(sample_order(customerEmail="jane.doe@example"))), lambda_context)
    logs = captured_logs.getvalue() + capsys.readouterr().out
    assert '"correlation_id":"ORD-1001"' in logs
    assert "order validated" in logs and "order rejected" in logs
    for secret in ("jane.doe", "Jane Doe"):
        assert secret not in logs
    assert '"recipient":"sha256:' in logs


def test_pace_until_is_the_wait_limit_after_now_in_entered_time_format(
        lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    validated = handler(load_event("validate/pipe-order.json"), lambda_context)
    assert validated["paceUntil"] == "2024-05-01T10:03:05.000Z"  # NOW + 180 s, as $$.State.EnteredTime looks
    monkeypatch.setenv(names.ENV_PACING_MAX_WAIT_SECONDS, "30")
    assert handler(load_event("validate/pipe-order.json"), lambda_context)["paceUntil"] == "2024-05-01T10:00:35.000Z"


def test_a_requeued_message_is_the_original_order_again(lambda_context: Any) -> None:
    """The Requeue state sends the compressed request (base64) with the requeued attribute."""
    original = handler(load_event("validate/pipe-order.json"), lambda_context)
    requeued = handler(pipe_event(original["requestZ"], message_attributes={
        names.REQUEUED_ATTRIBUTE: string_attribute(names.REQUEUED_FORMAT)}), lambda_context)
    assert {k: v for k, v in requeued.items() if k != "messageId"} == {
        k: v for k, v in original.items() if k != "messageId"}


@pytest.mark.parametrize(("body", "format_"), [
    ("not base64 at all!", names.REQUEUED_FORMAT),
    (base64.b64encode(b"\x07garbage").decode(), names.REQUEUED_FORMAT),  # an unknown format byte
    (base64.b64encode(b"\x01\xff\xfe").decode(), names.REQUEUED_FORMAT),  # corrupt DEFLATE
    ('{"orderId": "x"}', "gzip-v9"),
])
def test_a_bad_requeued_message_is_invalid_with_its_reason(body: str, format_: str, lambda_context: Any) -> None:
    document = invalid(pipe_event(body, message_attributes={names.REQUEUED_ATTRIBUTE: string_attribute(format_)}),
                       lambda_context)
    assert document["reason"] == "invalid_record"
    assert names.REQUEUED_ATTRIBUTE in document["message"]
