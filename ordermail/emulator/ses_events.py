"""What SES would publish for a mail it accepted, in the real event-publishing format.

moto publishes no configuration-set events. For every mail the runtime's SES hook captures, this
module builds the records SES sends to the configuration set's SNS destination (`eventType`,
`mail.messageId` = the id SendEmail returned, `mail.tags` with the configuration set and the
EmailTags) and the `EventPublisher` delivers them through SNS after a (scaled) delay, so the
feedback function sees them exactly as it would on AWS.

Outcomes follow the SES mailbox simulator (success@, bounce@, ooto@, complaint@,
suppressionlist@simulator.amazonses.com); any other recipient is delivered. A mail whose content
carries the EICAR anti-virus test string is rejected (SES's `Reject` event: "Bad content").
Like SES, only the event types the configuration set publishes (`names.SES_EVENT_TYPES`) go out.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks import names

EICAR_MARKER = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
ACCOUNT_ID = "123456789012"
REPORTING_MTA = "dsn; a8-53.smtp-out.amazonses.com"
PUBLISH_ATTEMPTS = 5  # per event, before it counts as unpublished (EventPublisher.failed)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _mail_object(message_id: str, request: dict[str, Any], sent_at: datetime, region: str) -> dict[str, Any]:
    source = request["FromEmailAddress"]
    destination = list(request.get("Destination", {}).get("ToAddresses", []))
    simple = request.get("Content", {}).get("Simple", {})
    subject = simple.get("Subject", {}).get("Data", "")
    domain = source.rpartition("@")[2]
    tags: dict[str, list[str]] = {
        "ses:configuration-set": [request.get("ConfigurationSetName", "")],
        "ses:source-ip": ["192.0.2.0"],
        "ses:from-domain": [domain],
        "ses:caller-identity": ["ordermail-state-machine-role"],
    }
    for tag in request.get("EmailTags", []):
        tags[tag["Name"]] = [tag["Value"]]
    return {
        "timestamp": _iso(sent_at),
        "source": source,
        "sourceArn": f"arn:aws:ses:{region}:{ACCOUNT_ID}:identity/{domain}",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": message_id,
        "destination": destination,
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": source},
            {"name": "To", "value": ", ".join(destination)},
            {"name": "Subject", "value": subject},
            {"name": "MIME-Version", "value": "1.0"},
            {"name": "Content-Type", "value": "multipart/alternative"},
            *({"name": header["Name"], "value": header["Value"]} for header in simple.get("Headers", [])),
        ],
        "commonHeaders": {"from": [source], "to": destination, "messageId": message_id, "subject": subject},
        "tags": tags,
    }


def _contains_eicar(request: dict[str, Any]) -> bool:
    return EICAR_MARKER in json.dumps(request.get("Content", {}))


def outcome_for(recipient: str) -> str:
    """The mailbox simulator's outcome for a recipient; `delivered` for everyone else."""
    local, _, domain = recipient.lower().partition("@")
    if domain != names.SES_SIMULATOR_DOMAIN:
        return "delivered"
    local = local.split("+", 1)[0]  # the simulator honours labels: bounce+order-7@...
    return {
        "success": "delivered",
        "ooto": "delivered",  # delivered; the auto-reply goes to the sender, not to event publishing
        "bounce": "bounce",
        "complaint": "complaint",
        "suppressionlist": "suppressed",
    }.get(local, "delivered")


def event_type_setting(event_type: str) -> str:
    """The configuration set's name for a record's `eventType`: DeliveryDelay → DELIVERY_DELAY."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(event_type)).upper()


def events_for(
    message_id: str, request: dict[str, Any], *, region: str, sent_at: datetime | None = None,
    published: tuple[str, ...] = names.SES_EVENT_TYPES,
) -> list[tuple[float, dict[str, Any]]]:
    """(delay factor, record) pairs for one accepted mail, of the `published` event types only; the
    delay factor is scaled by the publisher."""
    return [(factor, record) for factor, record in _all_events(message_id, request, region=region, sent_at=sent_at)
            if event_type_setting(record["eventType"]) in published]


def _all_events(
    message_id: str, request: dict[str, Any], *, region: str, sent_at: datetime | None
) -> list[tuple[float, dict[str, Any]]]:
    sent_at = sent_at or datetime.now(UTC)
    mail = _mail_object(message_id, request, sent_at, region)
    recipients = mail["destination"]
    records: list[tuple[float, dict[str, Any]]] = []

    if _contains_eicar(request):
        return [(0.0, {"eventType": "Reject", "mail": mail, "reject": {"reason": "Bad content"}})]

    records.append((0.0, {"eventType": "Send", "mail": mail, "send": {}}))
    for recipient in recipients:
        outcome = outcome_for(recipient)
        at = sent_at + timedelta(seconds=1)
        if outcome in ("delivered", "complaint"):
            records.append((1.0, {
                "eventType": "Delivery", "mail": mail,
                "delivery": {
                    "timestamp": _iso(at), "processingTimeMillis": 1000, "recipients": [recipient],
                    "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-53.smtp-out.amazonses.com",
                    "remoteMtaIp": "192.0.2.10",
                },
            }))
        if outcome == "complaint":
            complained_at = at + timedelta(seconds=1)
            records.append((2.0, {
                "eventType": "Complaint", "mail": mail,
                "complaint": {
                    "complainedRecipients": [{"emailAddress": recipient}], "timestamp": _iso(complained_at),
                    "feedbackId": f"{uuid.uuid4()}-000000", "userAgent": "Amazon SES Mailbox Simulator",
                    "complaintFeedbackType": "abuse", "arrivalDate": _iso(at),
                },
            }))
        if outcome in ("bounce", "suppressed"):
            suppressed = outcome == "suppressed"
            records.append((1.0, {
                "eventType": "Bounce", "mail": mail,
                "bounce": {
                    "bounceType": "Permanent",
                    "bounceSubType": "OnAccountSuppressionList" if suppressed else "General",
                    "bouncedRecipients": [{
                        "emailAddress": recipient, "action": "failed", "status": "5.1.1",
                        "diagnosticCode": (
                            "Amazon SES did not send the message to this address because it is on the "
                            "suppression list for your account."
                            if suppressed else "smtp; 550 5.1.1 user unknown"
                        ),
                    }],
                    "timestamp": _iso(at), "feedbackId": f"{uuid.uuid4()}-000000", "reportingMTA": REPORTING_MTA,
                },
            }))
    return records


class EventPublisher:
    """Delivers SES event records to the ses-events topic after their (scaled) delays.

    One daemon thread and a time-ordered heap; `pending()` lets the runtime tell when it is idle. A
    publish that fails is tried again later (PUBLISH_ATTEMPTS in all).
    """

    def __init__(self, publish: Callable[[str], None], *, delay_seconds: float) -> None:
        self._publish = publish
        self._delay_seconds = delay_seconds
        self._heap: list[tuple[float, int, str, int]] = []  # (due, sequence, message, attempt)
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._in_flight = 0
        self._stopped = False
        self.published = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="ses-event-publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join(timeout=5)

    def schedule(self, records: list[tuple[float, dict[str, Any]]]) -> None:
        now = time.monotonic()
        with self._condition:
            for factor, record in records:
                due = now + factor * self._delay_seconds
                heapq.heappush(self._heap, (due, next(self._sequence), json.dumps(record), 1))
            self._condition.notify_all()

    def pending(self) -> int:
        with self._condition:
            return len(self._heap) + self._in_flight

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._condition.wait(timeout=timeout)
                if self._stopped:
                    return
                _, _, message, attempt = heapq.heappop(self._heap)
                self._in_flight += 1
            try:
                self._publish(message)
                self.published += 1
            except Exception:
                # SES retries a failed publish to its event destination; give up (and count it)
                # only after PUBLISH_ATTEMPTS, as a lost event would leave its order SENT for good.
                if attempt < PUBLISH_ATTEMPTS:
                    retry_at = time.monotonic() + max(0.05, self._delay_seconds) * 2**attempt
                    with self._condition:
                        heapq.heappush(self._heap, (retry_at, next(self._sequence), message, attempt + 1))
                else:
                    self.failed += 1
            finally:
                with self._condition:
                    self._in_flight -= 1
                    self._condition.notify_all()
