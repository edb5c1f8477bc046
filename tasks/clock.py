"""The handlers' clock, in one place so tests can pin it (monkeypatch `tasks.clock.utc_now`)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
