"""SESv2 SendEmail capture: each accepted mail (with its configuration set and tags, which moto's
backend drops) goes to the outbox and the SES event publisher; injected faults come first."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moto.sesv2.responses import SESV2Response

from .faults import FaultScript, SesRejected, SesThrottled

if TYPE_CHECKING:
    from ..options import Faults
    from .patches import Patches

SEAMS: dict[str, tuple[object, str]] = {"sesv2_send_email": (SESV2Response, "send_email")}


def install_ses_capture(
    patches: Patches,
    *,
    faults: Faults,
    rng: random.Random,
    on_sent: Callable[[str, dict[str, Any]], None],
    script: FaultScript,
) -> None:
    """Seam `sesv2_send_email`: inject faults, then hand every accepted mail to `on_sent`.

    `on_sent(message_id, request)` gets the SendEmail request as sent (FromEmailAddress,
    Destination, Content, ConfigurationSetName, EmailTags) and the id SES returned.
    """
    original = SESV2Response.send_email

    def send_email(self: SESV2Response) -> str:
        scripted = script.take("ses")
        if scripted is not None:
            raise scripted
        if faults.ses_throttle_rate and rng.random() < faults.ses_throttle_rate:
            raise SesThrottled()
        if faults.ses_reject_rate and rng.random() < faults.ses_reject_rate:
            raise SesRejected()
        response = original(self)
        on_sent(json.loads(response)["MessageId"], json.loads(self.body))
        return response

    patches.replace(SESV2Response, "send_email", send_email)
