"""`ordermail smoke`: the post-deploy check. Publishes SES mailbox-simulator orders through the
stack and checks what the ledger records for each: success → DELIVERED, bounce → BOUNCED
(Permanent), complaint → COMPLAINED after a Delivery, the same order twice → one mail and one
recorded duplicate, an invalid order → INVALID with its reason.

The same check runs against a deployed stack and against the local runtime (the e2e tests run it on
every commit). It uses only what an operator does: SNS Publish to the orders topic with the
`eventType` attribute (as `ordermail publish`) and ledger reads (as `ordermail status`). Every
recipient is a simulator address: no mailbox receives anything, the sandbox guard of dev/test lets
them through unchanged, and SES counts neither their bounces nor their complaints against the
account's reputation.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

from rich.text import Text

from ordermail import samples
from ordermail.cli.aws import AwsContext
from ordermail.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from ordermail.cli.ledger import Ledger, order_view
from ordermail.cli.orders_file import Order
from ordermail.cli.output import console, err_console, event_details, print_json, status_text, table
from ordermail.cli.timeutil import iso, now
from tasks import names

from .publish import publish_orders

# SES publishes simulator feedback within seconds, occasionally a minute or more (complaints last).
DEFAULT_TIMEOUT: Final = 300.0
POLL_SECONDS_AWS: Final = 2.0
POLL_SECONDS_LOCAL: Final = 0.2
PROGRESS_EVERY_SECONDS: Final = 30.0
NOT_IN_LEDGER: Final = "not in ledger"
# A claim that has not ended yet: SENT or better, or a failure, is coming.
_IN_FLIGHT: Final = (None, "PROCESSING")


@dataclass(frozen=True)
class Verdict:
    observed: str
    ok: bool
    settled: bool  # nothing later can change the verdict: stop waiting for this order
    detail: str


@dataclass(frozen=True)
class Case:
    name: str  # the order id's suffix: success, bounce, complaint, duplicate, invalid
    sample: samples.Sample  # a demo sample under this run's order id
    expected: str  # as the table shows it
    judge: Callable[[dict[str, Any]], Verdict]  # the order's status document → verdict

    @property
    def order_id(self) -> str:
        return self.sample.order_id

    @property
    def recipient(self) -> str:
        return str(self.sample.order["customerEmail"])

    @property
    def publish_times(self) -> int:
        return self.sample.publish_times


# --- judging a status document -------------------------------------------------------------------


def _summary(view: dict[str, Any]) -> str:
    """What the ledger shows, briefly: SES events, attempts, duplicates, the last error."""
    parts: list[str] = []
    events = [e.get("type", "?") + (f" ({event_details(e)})" if event_details(e) else "")
              for e in view.get("events") or []]
    if events:
        parts.append("events: " + ", ".join(events))
    attempts = [str(a.get("outcome")) for a in view.get("attempts") or []]
    if attempts:
        parts.append("attempts: " + ", ".join(attempts))
    if view.get("duplicateCount"):
        parts.append(f"duplicates: {view['duplicateCount']}")
    if view.get("payloadConflict"):
        parts.append("payload conflict")
    for key in ("lastError", "invalidReason"):
        if view.get(key):
            parts.append(f"{key}: {view[key]}")
    return "; ".join(parts) or "-"


def _verdict(view: dict[str, Any], ok: bool, settled: bool, problem: str = "") -> Verdict:
    summary = _summary(view)
    return Verdict(str(view.get("status")), ok, ok or settled, f"{problem}: {summary}" if problem else summary)


def _against_status(view: dict[str, Any], expected: str, extra: Callable[[dict[str, Any]], Verdict]) -> Verdict:
    """Wait while the status may still rise to `expected` (feedback only moves it up, docs/LEDGER.md);
    at `expected`, the case's own conditions decide; anything else is final."""
    from tasks.domain.status import rank

    status = view.get("status")
    if status in _IN_FLIGHT:
        return _verdict(view, False, False, "the workflow has not finished")
    if status == expected:
        return extra(view)
    if status in ("FAILED", "INVALID") or rank(status) > rank(expected):
        return _verdict(view, False, True, f"expected {expected}")
    return _verdict(view, False, False, f"waiting for {expected}")


def _events(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in view.get("events") or [] if e.get("type") == kind]


def _sent_attempts(view: dict[str, Any]) -> tuple[list[str], bool]:
    """The attempts' outcomes, and whether they are exactly one SENT."""
    outcomes = [str(a.get("outcome")) for a in view.get("attempts") or []]
    return outcomes, outcomes == ["SENT"]


def judge_delivered(view: dict[str, Any]) -> Verdict:
    return _against_status(view, "DELIVERED", lambda v: _verdict(v, True, True))


def judge_bounced(view: dict[str, Any]) -> Verdict:
    def permanent(v: dict[str, Any]) -> Verdict:
        kinds = [e.get("bounceType") for e in _events(v, "Bounce")]
        if "Permanent" in kinds:
            return _verdict(v, True, True)
        return _verdict(v, False, True, f"bounceType {', '.join(map(str, kinds)) or 'missing'}, expected Permanent")

    return _against_status(view, "BOUNCED", permanent)


def judge_complained(view: dict[str, Any]) -> Verdict:
    def after_delivery(v: dict[str, Any]) -> Verdict:
        # SNS may bring the Complaint before the Delivery: the Delivery can still arrive.
        if not _events(v, "Delivery"):
            return _verdict(v, False, False, "no Delivery event before the complaint")
        return _verdict(v, True, True)

    return _against_status(view, "COMPLAINED", after_delivery)


def judge_duplicate(view: dict[str, Any]) -> Verdict:
    def one_mail(v: dict[str, Any]) -> Verdict:
        outcomes, one_sent = _sent_attempts(v)
        if not one_sent:
            return _verdict(v, False, True, f"{len(outcomes)} attempt(s), expected exactly one SENT")
        if v.get("payloadConflict"):
            return _verdict(v, False, True, "the same payload was recorded as a conflict")
        if not v.get("duplicateCount"):  # SNS may deliver more than once: at least one is the check
            return _verdict(v, False, False, "second copy not recorded as a duplicate")
        return _verdict(v, True, True)

    return _against_status(view, "DELIVERED", one_mail)


def judge_invalid(view: dict[str, Any]) -> Verdict:
    from tasks.domain.order import Reason

    def with_reason(v: dict[str, Any]) -> Verdict:
        if v.get("invalidReason") != Reason.TOTAL_MISMATCH:
            return _verdict(v, False, True, f"expected reason {Reason.TOTAL_MISMATCH.value}")
        if v.get("attempts"):
            return _verdict(v, False, True, "an invalid order was claimed")
        return _verdict(v, True, True)

    status = view.get("status")
    if status is None:
        return _verdict(view, False, False, "not recorded yet")
    if status != "INVALID":  # it was claimed: validation let it through, whatever follows
        return _verdict(view, False, True, "expected INVALID")
    return with_reason(view)


def judge(case: Case, view: dict[str, Any] | None) -> Verdict:
    if view is None:
        return Verdict(NOT_IN_LEDGER, False, False, "no ledger item yet")
    return case.judge(view)


# --- the orders ------------------------------------------------------------------------------------


def _sample(match: Callable[[samples.Sample], bool]) -> samples.Sample:
    return next(s for s in samples.SAMPLES if match(s))


def new_prefix() -> str:
    """`smoke-<UTC timestamp>-<random>-`: unique per run, sortable, and SES-tag safe (docs/DESIGN)."""
    return f"smoke-{now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}-"


def build_cases(prefix: str) -> list[Case]:
    """The demo's simulator samples under this run's ids, tagged `channel: smoke` in their metadata."""
    from tasks.domain.order import Reason

    chosen = (
        ("success", _sample(lambda s: s.order["customerEmail"] == f"success@{samples.SIM}"),
         "DELIVERED", judge_delivered),
        ("bounce", _sample(lambda s: s.expect == "BOUNCED"), "BOUNCED (Permanent)", judge_bounced),
        ("complaint", _sample(lambda s: s.expect == "COMPLAINED"), "COMPLAINED after Delivery", judge_complained),
        ("duplicate", _sample(lambda s: s.publish_times > 1), "DELIVERED, one SENT attempt + duplicate",
         judge_duplicate),
        ("invalid", _sample(lambda s: s.expect == "INVALID"), f"INVALID ({Reason.TOTAL_MISMATCH.value})",
         judge_invalid),
    )
    # Stamped now: the feedback processor's order-to-delivery latency metric measures from it.
    stamp = iso(now())
    cases = []
    for name, sample, expected, judge_fn in chosen:
        order = {**sample.order, "orderId": prefix + name, "timestamp": stamp,
                 "metadata": {**sample.order.get("metadata", {}), "channel": "smoke"}}
        case = Case(name, replace(sample, order=order), expected, judge_fn)
        # Never a real mailbox: a smoke run on prod must not mail anybody.
        if not case.recipient.lower().endswith("@" + names.SES_SIMULATOR_DOMAIN):
            raise AssertionError(f"smoke order {case.order_id} is not addressed to the SES mailbox simulator")
        cases.append(case)
    return cases


def _as_order(case: Case) -> Order:
    return Order(case.sample.body, case.order_id)


# --- the command ------------------------------------------------------------------------------


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "smoke", parents=parents, help="post-deploy check: simulator orders through the stack, each outcome checked",
        description="Publish SES mailbox-simulator orders (success, bounce, complaint, a duplicate, an invalid one) "
                    "to the stack's orders topic and wait until the ledger shows each expected outcome. "
                    "Exit 0 when every order is ok, 1 otherwise. Mails go to simulator addresses only.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"how long to wait for the outcomes and SES feedback (default {DEFAULT_TIMEOUT:.0f})")
    parser.set_defaults(func=run)


def _publish(ctx: AwsContext, cases: list[Case]) -> dict[str, str]:
    """Publish each case once; returns the error per order id that could not be published."""
    _, failed = publish_orders(ctx, [_as_order(case) for case in cases])
    return {str(row["orderId"]): str(row["error"]) for row in failed}


def check(ctx: AwsContext, cases: list[Case], timeout: float) -> dict[str, Verdict]:
    """Publish, publish the duplicates again once their first copy's claim has ended, and poll the
    ledger until every order is settled or time is up."""
    # Both outputs first: a missing stack or an older deployment publishes nothing.
    topic, table_name = ctx.output("OrdersTopicArn"), ctx.output("LedgerTableName")
    ledger = Ledger(ctx)
    say = err_console()
    deadline = time.monotonic() + timeout
    not_published = _publish(ctx, cases)
    say.print(f"published {len(cases) - len(not_published)} smoke order(s) to {topic}, ledger {table_name}; "
              f"waiting up to {timeout:.0f} s for their outcomes", markup=False, soft_wrap=True)
    # The second copy waits for the first to leave PROCESSING, as a late SNS redelivery arrives: one
    # arriving while the claim is held fails its execution and waits out the queue's visibility timeout.
    again = [case for case in cases if case.publish_times > 1 and case.order_id not in not_published]
    interval = POLL_SECONDS_LOCAL if ctx.is_local else POLL_SECONDS_AWS
    next_progress = time.monotonic() + PROGRESS_EVERY_SECONDS
    verdicts: dict[str, Verdict] = {}
    while True:
        items = {str(item["orderId"]): item for item in ledger.batch_get(c.order_id for c in cases)}
        views = {oid: order_view(item, local=ctx.is_local) for oid, item in items.items()}
        for case in list(again):
            if views.get(case.order_id, {}).get("status") not in _IN_FLIGHT:
                for _ in range(case.publish_times - 1):
                    for order_id, error in _publish(ctx, [case]).items():
                        not_published[order_id] = f"second copy: {error}"
                again.remove(case)
        for case in cases:
            if case.order_id in not_published:
                verdicts[case.order_id] = Verdict("not published", False, True, not_published[case.order_id])
            else:
                verdicts[case.order_id] = judge(case, views.get(case.order_id))
        pending = [c for c in cases if not verdicts[c.order_id].settled or c in again]
        if not pending:
            return verdicts
        if time.monotonic() >= deadline:
            for case in pending:
                verdict = verdicts[case.order_id]
                detail = verdict.detail if case not in again else "second copy never published: " + verdict.detail
                verdicts[case.order_id] = replace(verdict, ok=False, settled=True,
                                                  detail=f"timed out after {timeout:.0f} s: {detail}")
            return verdicts
        if time.monotonic() >= next_progress:
            say.print(f"still waiting for {', '.join(c.name for c in pending)}", markup=False)
            next_progress += PROGRESS_EVERY_SECONDS
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def run(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: expected a number of seconds above 0")
    ctx = AwsContext.from_args(args)
    prefix = new_prefix()
    cases = build_cases(prefix)
    started = time.monotonic()
    verdicts = check(ctx, cases, args.timeout)
    elapsed = time.monotonic() - started
    rows = [{"orderId": c.order_id, "case": c.name, "expected": c.expected, "observed": verdicts[c.order_id].observed,
             "ok": verdicts[c.order_id].ok, "detail": verdicts[c.order_id].detail} for c in cases]
    passed = sum(1 for row in rows if row["ok"])
    all_ok = passed == len(rows)
    if args.json:
        print_json({"ok": all_ok, "stack": ctx.stack_name, "endpoint": ctx.endpoint_url, "prefix": prefix,
                    "seconds": round(elapsed, 2), "orders": rows})
    else:
        out = console()
        out.print(table(f"Smoke check of {ctx.stack_name}" + (f" at {ctx.endpoint_url}" if ctx.is_local else ""),
                        ("order", "expected", "observed", "result", "detail"),
                        [(r["orderId"], r["expected"],
                          status_text(r["observed"]) if r["observed"] in names.LEDGER_STATUSES else r["observed"],
                          Text("ok", style="green") if r["ok"] else Text("FAIL", style="bold red"), r["detail"])
                         for r in rows]))
        out.print(f"{passed}/{len(rows)} ok in {elapsed:.1f} s" + ("" if all_ok else " — smoke check FAILED"),
                  markup=False)
    return EXIT_OK if all_ok else EXIT_FAILED
