"""Every mail SES accepted, saved as `.eml` (what the customer's client would get) and `.html`."""

from __future__ import annotations

import re
import threading
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from tasks import names

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def order_id_of(request: dict[str, Any]) -> str | None:
    """The orderId the workflow tagged the mail with (plain or base32-encoded)."""
    import base64

    for tag in request.get("EmailTags", []):
        if tag["Name"] == names.SES_TAG_ORDER_ID:
            return str(tag["Value"])
        if tag["Name"] == names.SES_TAG_ORDER_ID_B32:
            value = str(tag["Value"])
            padded = value + "=" * (-len(value) % 8)
            return base64.b32decode(padded).decode("utf-8")
    return None


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self.count = 0

    def clear(self) -> None:
        if self.directory.exists():
            for path in self.directory.iterdir():
                if path.suffix in (".eml", ".html"):
                    path.unlink()

    def save(self, message_id: str, request: dict[str, Any]) -> Path:
        simple = request["Content"]["Simple"]
        message = EmailMessage(policy=SMTP)
        message["From"] = request["FromEmailAddress"]
        message["To"] = ", ".join(request.get("Destination", {}).get("ToAddresses", []))
        message["Subject"] = simple["Subject"]["Data"]
        message["Message-ID"] = f"<{message_id}@email.amazonses.com>"
        order_id = order_id_of(request) or "unknown"
        for header in simple.get("Headers", []):  # what SendEmail asked for (X-OrderMail-Order-Id)
            message[header["Name"]] = header["Value"]
        body = simple["Body"]
        message.set_content(body.get("Text", {}).get("Data", ""), charset="utf-8")
        if "Html" in body:
            message.add_alternative(body["Html"]["Data"], subtype="html", charset="utf-8")
        stem = f"{_UNSAFE.sub('_', order_id)[:80]}-{message_id[:12]}"
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{stem}.eml").write_bytes(bytes(message))
            if "Html" in body:
                (self.directory / f"{stem}.html").write_text(body["Html"]["Data"], encoding="utf-8")
            self.count += 1
        return self.directory / f"{stem}.eml"
