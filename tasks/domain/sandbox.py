"""The SES sandbox guard: outside production, mail never reaches a real customer."""

from __future__ import annotations

from tasks import names


def delivery_address(recipient: str, *, sandbox: bool, sandbox_recipient: str) -> str:
    """Where the mail really goes.

    In sandbox mode an SES mailbox-simulator address passes through unchanged (so the simulator's
    bounce/complaint scenarios still work) and every other address is replaced by `sandbox_recipient`.
    """
    if not sandbox:
        return recipient
    domain = recipient.rpartition("@")[2].lower()
    return recipient if domain == names.SES_SIMULATOR_DOMAIN else sandbox_recipient
