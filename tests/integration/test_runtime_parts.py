"""The runtime's own parts: what the Pipe hands the machine, SES's events, the outbox."""

from __future__ import annotations

import email
import json
import sys
import time
from collections.abc import Callable
from email.policy import default
from pathlib import Path

import pytest

from ordermail.emulator.outbox import Outbox, order_id_of
from ordermail.emulator.pipe import to_pipe_record
from ordermail.emulator.provision import render_definition
from ordermail.emulator.ses_events import EventPublisher, event_type_setting, events_for, outcome_for
from tasks import names
from tasks.domain.tags import order_id_headers


def _request(to: str, *, tags: list[dict[str, str]] | None = None, html: str = "<p>Olá</p>") -> dict:
    return {
        "FromEmailAddress": "no-reply@shop.example",
        "Destination": {"ToAddresses": [to]},
        "Content": {"Simple": {"Subject": {"Data": "Pedido #1 confirmado ✓"},
                               "Body": {"Html": {"Data": html}, "Text": {"Data": "Olá"}},
                               "Headers": order_id_headers("A-1")}},
        "ConfigurationSetName": "ordermail-dev-events",
        "EmailTags": tags if tags is not None else [{"Name": names.SES_TAG_ORDER_ID, "Value": "A-1"}],
    }


def test_pipe_record_has_the_shape_pipes_deliver() -> None:
    message = {
        "MessageId": "m-1", "ReceiptHandle": "rh", "Body": "{}", "MD5OfBody": "md5",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "MessageAttributes": {"eventType": {"StringValue": "OrderConfirmed", "DataType": "String"}},
    }
    record = to_pipe_record(message, queue_arn="arn:aws:sqs:us-east-1:123456789012:q", region="us-east-1")
    assert record["body"] == "{}"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["eventType"]["stringValue"] == "OrderConfirmed"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":q")


@pytest.mark.parametrize(
    ("local", "outcome", "types"),
    [
        ("success", "delivered", ["Delivery"]),
        ("ooto", "delivered", ["Delivery"]),
        ("bounce", "bounce", ["Bounce"]),
        ("complaint", "complaint", ["Delivery", "Complaint"]),
        ("suppressionlist", "suppressed", ["Bounce"]),
    ],
)
def test_mailbox_simulator_outcomes(local: str, outcome: str, types: list[str]) -> None:
    address = f"{local}@{names.SES_SIMULATOR_DOMAIN}"
    assert outcome_for(address) == outcome
    records = [r for _, r in events_for("mid-1", _request(address), region="us-east-1")]
    assert [r["eventType"] for r in records] == types
    for record in records:
        assert record["mail"]["messageId"] == "mid-1"
        assert record["mail"]["tags"]["ses:configuration-set"] == ["ordermail-dev-events"]
        assert record["mail"]["tags"][names.SES_TAG_ORDER_ID] == ["A-1"]
        assert {"name": names.ORDER_ID_HEADER, "value": "A-1"} in record["mail"]["headers"]
    if local == "suppressionlist":
        assert records[0]["bounce"]["bounceSubType"] == "OnAccountSuppressionList"


def test_only_the_configuration_sets_event_types_are_published() -> None:
    address = f"success@{names.SES_SIMULATOR_DOMAIN}"
    every = events_for("mid-3", _request(address), region="us-east-1", published=(*names.SES_EVENT_TYPES, "SEND"))
    assert [r["eventType"] for _, r in every] == ["Send", "Delivery"]
    assert "SEND" not in names.SES_EVENT_TYPES  # the workflow records SENT itself
    assert [r["eventType"] for _, r in events_for("mid-3", _request(address), region="us-east-1")] == ["Delivery"]
    assert event_type_setting("DeliveryDelay") == "DELIVERY_DELAY"
    assert event_type_setting("RenderingFailure") == "RENDERING_FAILURE"


def test_virus_content_is_rejected() -> None:
    records = events_for("mid-2", _request("a@example.com", html="X5O!P%@AP EICAR-STANDARD-ANTIVIRUS-TEST-FILE"),
                         region="us-east-1")
    assert [r["eventType"] for _, r in records] == ["Reject"]


def test_outbox_writes_eml_and_html_with_unicode_intact(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    path = box.save("0100018c-abc", _request("a@example.com"))
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert message["Subject"] == "Pedido #1 confirmado ✓"
    assert message["X-OrderMail-Order-Id"] == "A-1"  # the header SendEmail asked for
    assert message.get_body(("html",)).get_content().strip() == "<p>Olá</p>"
    assert path.with_suffix(".html").read_text(encoding="utf-8") == "<p>Olá</p>"


def test_encoded_order_id_tag_is_decoded() -> None:
    import base64

    order_id = "pedido/ção#7"
    value = base64.b32encode(order_id.encode()).decode().rstrip("=")
    assert order_id_of(_request("a@example.com", tags=[{"Name": names.SES_TAG_ORDER_ID_B32, "Value": value}])) == order_id


def test_definition_placeholders_are_all_filled_or_refused() -> None:
    with pytest.raises(ValueError, match="unfilled placeholder"):
        render_definition({"ValidateFunctionArn": "x"})


def test_status_api_is_served_by_the_real_handler(runtime) -> None:  # type: ignore[no-untyped-def]
    import json as _json
    import urllib.error
    import urllib.request

    from tests.integration.conftest import signed_get

    base = runtime.outputs["StatusApiUrl"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        signed_get(f"{base}/orders/does-not-exist")
    assert missing.value.code == 404
    with signed_get(f"{base}/orders?status=FAILED&since=1h") as response:
        assert response.status == 200
        assert isinstance(_json.loads(response.read()), dict)
    for unlisted in ("NOPE", "SENT"):  # SENT is not in the sparse index: no table scans through the API
        with pytest.raises(urllib.error.HTTPError) as bad:
            signed_get(f"{base}/orders?status={unlisted}")
        assert bad.value.code == 400
        assert "FAILED" in _json.loads(bad.value.read())["message"]
    with pytest.raises(urllib.error.HTTPError) as unsigned:  # IAM auth: API Gateway refuses it before the function
        urllib.request.urlopen(f"{base}/orders?status=SENT", timeout=10)
    assert unsigned.value.code == 403
    assert _json.loads(unsigned.value.read()) == {"message": "Missing Authentication Token"}


def test_local_functions_get_the_environment_the_stack_gives_them(runtime) -> None:  # type: ignore[no-untyped-def]
    """The CDK app and the runtime both build it with names.function_environment; check the result."""
    lam = runtime.client("lambda")
    validate = lam.get_function_configuration(FunctionName=runtime.names["validate_function"])
    variables = validate["Environment"]["Variables"]
    assert variables[names.ENV_SES_SANDBOX] == "true"  # dev: the sandbox guard is on
    assert variables[names.ENV_SANDBOX_RECIPIENT] == f"success@{names.SES_SIMULATOR_DOMAIN}"
    feedback = lam.get_function_configuration(FunctionName=runtime.names["feedback_function"])
    assert feedback["Environment"]["Variables"][names.ENV_LEDGER_TABLE] == runtime.outputs["LedgerTableName"]


def test_the_event_publisher_retries_a_failed_publish_and_counts_what_it_gives_up() -> None:
    outcomes = iter([RuntimeError("sns down"), RuntimeError("sns down"), None])
    delivered: list[str] = []

    def flaky(message: str) -> None:
        error = next(outcomes, None)
        if error is not None:
            raise error
        delivered.append(message)

    publisher = EventPublisher(flaky, delay_seconds=0.001)
    publisher.start()
    try:
        publisher.schedule([(0.0, {"eventType": "Delivery"})])
        deadline = time.monotonic() + 10
        while publisher.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [json.loads(m)["eventType"] for m in delivered] == ["Delivery"]
        assert (publisher.published, publisher.failed) == (1, 0)

        def broken(message: str) -> None:
            raise RuntimeError("sns gone")

        publisher._publish = broken
        publisher.schedule([(0.0, {"eventType": "Bounce"})])
        deadline = time.monotonic() + 10
        while publisher.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert publisher.failed == 1  # after PUBLISH_ATTEMPTS, counted (stats: ses_events_unpublished)
    finally:
        publisher.stop()


def _race(work: Callable[[int], None], *, threads: int = 4) -> None:
    """Run `work(n)` on `threads` threads at once, switching threads as often as the interpreter
    can, so a data race on shared state shows up in a test-sized run."""
    import threading

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        started = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for thread in started:
            thread.start()
        for thread in started:
            thread.join()
    finally:
        sys.setswitchinterval(interval)


def test_handlers_on_several_threads_share_the_powertools_metric_set_safely(capsys: pytest.CaptureFixture[str]) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    from ordermail.emulator.seams import Patches, powertools
    from tasks.observability import metrics

    patches = Patches()
    powertools.install_powertools_locks(patches)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for i in range(2000):
                metrics.add_metric(name=f"M{i % 50}", unit=MetricUnit.Count, value=1)
                metrics.add_metadata(key=f"k{i % 7}", value="v")
                if i % 5 == 0:
                    metrics.flush_metrics()
        except BaseException as exc:
            errors.append(exc)

    # Without the lock this fails with "dictionary changed size during iteration" (checked).
    try:
        _race(work)
    finally:
        patches.undo()
        metrics.clear_metrics()
    capsys.readouterr()
    assert errors == []


def test_handlers_on_several_threads_share_the_powertools_log_keys_safely(capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import logging

    from ordermail.emulator.seams import Patches, powertools
    from tasks.observability import logger

    patches = Patches()
    powertools.install_powertools_locks(patches)
    # Other tests may have captured the handler's stream or raised the level: use our own here.
    lines = io.StringIO()
    previous_stream = logger.registered_handler.setStream(lines)
    previous_level = logger.log_level
    logger.setLevel(logging.INFO)

    def work(thread: int) -> None:
        for i in range(1500):
            logger.append_keys(**{f"key_{thread}_{i % 40}": i})
            logger.info("line", extra={"n": i})
            if i % 3 == 0:
                logger.remove_keys([f"key_{thread}_{i % 40}"])

    # Without the lock a log line formatted while another thread appends keys fails inside logging
    # ("--- Logging error --- ... dictionary changed size during iteration", reported on stderr).
    # The race needs a thread switch inside one dict walk: without the lock this run fails about
    # half the time (checked), so it is a regression alarm rather than a proof.
    try:
        _race(work)
    finally:
        patches.undo()
        logger.clear_state()
        logger.registered_handler.setStream(previous_stream)
        logger.setLevel(previous_level)
    assert "Logging error" not in capsys.readouterr().err
    assert lines.getvalue().count('"message":"line"') == 4 * 1500
