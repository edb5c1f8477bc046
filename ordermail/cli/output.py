"""Human output (rich tables on stdout, progress on stderr) and JSON output for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ordermail.cli.timeutil import parse_iso

STATUS_STYLES = {
    "PROCESSING": "blue",
    "SENT": "cyan",
    "DELAYED": "yellow",
    "DELIVERED": "green",
    "BOUNCED": "red",
    "COMPLAINED": "bold red",
    "REJECTED": "red",
    "SUPPRESSED": "red",
    "INVALID": "magenta",
    "FAILED": "bold red",
}
PROGRESS_THRESHOLD = 10  # below this many items a progress bar is noise


def console() -> Console:
    # Built per call: tests (capsys) and pipes swap sys.stdout. Off a terminal, a wide page keeps
    # ARNs and links on one line for grep.
    out = sys.stdout
    return Console(file=out, width=None if out.isatty() else 200, highlight=False)


def err_console() -> Console:
    return Console(file=sys.stderr, highlight=False)


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), ensure_ascii=False, indent=2) + "\n")


def status_text(status: str | None) -> Text:
    label = status or "-"
    return Text(label, style=STATUS_STYLES.get(label, ""))


def short_execution(arn: str | None) -> str:
    """The execution's name: an Express ARN is arn:aws:states:region:acct:express:machine:name:id (a
    bare name, as the ledger keeps for successful attempts, is returned as it is)."""
    if not arn:
        return "-"
    parts = arn.split(":")
    return parts[7] if len(parts) > 7 else arn


def fmt(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(jsonable(value))


def progress(total: int, description: str) -> Progress:
    err = err_console()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=total < PROGRESS_THRESHOLD or not err.is_terminal,
    )


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        # Text, not str: data such as error messages must never be read as rich markup.
        result.add_row(*[cell if isinstance(cell, Text) else Text(fmt(cell)) for cell in row])
    return result


def event_details(event: dict[str, Any]) -> str:
    keys = ("bounceType", "bounceSubType", "diagnosticCode", "complaintFeedbackType", "delayType", "reason")
    return ", ".join(f"{k}={event[k]}" for k in keys if event.get(k))


def timeline_details(entry: dict[str, Any]) -> str:
    skip = {"type", "at", "executionArn", "execution"}
    return ", ".join(f"{k}={fmt(v)}" for k, v in entry.items() if k not in skip and v not in (None, ""))


def sort_key(at: Any) -> tuple[int, float]:
    parsed = parse_iso(at) if isinstance(at, str) else None
    return (0, parsed.timestamp()) if parsed else (1, 0.0)


def render_status(view: dict[str, Any]) -> None:
    out = console()
    header = Text.assemble(("Order ", "bold"), (str(view.get("orderId")), "bold"), "  ",
                           status_text(view.get("status")))
    out.print(header)
    fields = [
        ("recipient", view.get("recipient")),
        ("delivered to", view.get("deliverTo") if view.get("deliverTo") != view.get("recipient") else None),
        ("SES message id", view.get("sesMessageId")),
        ("created", view.get("createdAt")),
        ("updated", view.get("updatedAt")),
        ("attempts", view.get("attemptCount")),
        ("duplicates", view.get("duplicateCount")),
        ("payload conflict", view.get("payloadConflict") or None),
        ("last error", view.get("lastError")),
        ("last cause", view.get("lastCause")),
        ("invalid reason", view.get("invalidReason")),
        ("invalid message", view.get("invalidMessage")),
    ]
    out.print(table(None, ("field", "value"), [(k, v) for k, v in fields if v not in (None, "")]))
    attempts = view.get("attempts") or []
    if attempts:
        out.print(table("Attempts", ("#", "started", "ended", "outcome", "kind", "by / reason", "error", "execution"),
                        [(i, a.get("startedAt"), a.get("endedAt"), status_text(a.get("outcome")), a.get("kind"),
                          " / ".join(str(x) for x in (a.get("by"), a.get("reason")) if x) or None,
                          a.get("error"), short_execution(a.get("executionArn") or a.get("execution")))
                         for i, a in enumerate(attempts, 1)]))
    events = view.get("events") or []
    if events:
        out.print(table("SES events", ("at", "type", "details"),
                        [(e.get("at"), e.get("type"), event_details(e)) for e in events]))


def render_order_list(views: list[dict[str, Any]], title: str) -> None:
    out = console()
    out.print(table(title, ("order", "status", "updated", "recipient", "attempts", "last error / reason"),
                    [(v.get("orderId"), status_text(v.get("status")), v.get("updatedAt"), v.get("recipient"),
                      v.get("attemptCount"), v.get("lastError") or v.get("invalidReason"))
                     for v in views]))
