"""Time parsing and formatting for `--since` and the ledger's ISO 8601 timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ordermail.cli.errors import UsageError

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def now() -> datetime:
    return datetime.now(UTC)


def parse_since(text: str, *, reference: datetime | None = None) -> datetime:
    """`24h`, `30m`, `7d`, `2w`, `90s`, or an ISO 8601 date/time (UTC when no offset is given)."""
    reference = reference or now()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return reference - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    parsed = parse_iso(text)
    if parsed is None:
        raise UsageError(f"--since {text!r}: expected a duration like 24h, 30m, 7d or an ISO 8601 time")
    return parsed


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """The ledger's format (Step Functions' `$$.State.EnteredTime`): UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(text: str | None) -> int | None:
    parsed = parse_iso(text)
    return int(parsed.timestamp() * 1000) if parsed else None
