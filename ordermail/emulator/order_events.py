"""The EventBridge intake in the local runtime: bus `ordermail-<env>`, the OrderConfirmed rule, and
delivery to the orders queue as EventBridge does it.

moto's rule delivery to an SQS target ignores `InputPath` (it sends the whole event) and checks no
queue policy. Seam `events_sqs_delivery` replaces it for rules whose targets are all SQS queues:
the body is the `InputPath` selection (`$.detail`: the order JSON, the body raw SNS delivery
leaves), and `events.amazonaws.com` with `aws:SourceArn` = the rule must be allowed
`sqs:SendMessage` by the queue's policy (and the key by its key policy) from the synthesized
template; a refused delivery is dropped, as EventBridge drops it after its retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.events.models import Rule

from tasks import names

from .iam.calls import Check
from .iam.enforce import Enforcer, Principal

SEAMS: dict[str, tuple[object, str]] = {"events_sqs_delivery": (Rule, "send_to_targets")}

ORDER_EVENT_PATTERN = {"detail-type": [names.ORDER_EVENT_TYPE]}  # any source: the stack's default
INPUT_PATH = "$.detail"


def provision_order_events(events: Any, *, env: str, queue_arn: str) -> str:
    """Create the bus, rule and target the stack creates (workflow/intake.py); returns the bus name."""
    infra = names.infra_names(env)
    bus = infra["orders_event_bus"]
    events.create_event_bus(Name=bus)
    events.put_rule(Name=infra["orders_event_rule"], EventBusName=bus, EventPattern=json.dumps(ORDER_EVENT_PATTERN))
    events.put_targets(Rule=infra["orders_event_rule"], EventBusName=bus,
                       Targets=[{"Id": "OrdersQueue", "Arn": queue_arn, "InputPath": INPUT_PATH}])
    return bus


def select(event: Any, path: str) -> Any:
    """An EventBridge InputPath of plain dotted keys ($, $.detail, $.detail.order)."""
    if path == "$":
        return event
    value = event
    for key in path.removeprefix("$.").split("."):
        value = value[key] if isinstance(value, dict) and key in value else None
    return value


def install_events_delivery(patches: Any, iam: Callable[[], Enforcer | None]) -> None:
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not self.targets or any(":sqs:" not in target["Arn"] for target in self.targets):
            return original(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return None
        from moto.sqs import sqs_backends

        enforcer = iam()
        for target in self.targets:
            queue_arn = target["Arn"]
            path = target.get("InputPath")
            body = original_event if path is None else select(original_event, path)
            if enforcer is not None and not _allowed(enforcer, self, queue_arn):
                continue  # EventBridge: FailedInvocations, the event never reaches the queue
            region, account, name = queue_arn.split(":")[3:6]
            sqs_backends[account][region].send_message(queue_name=name, message_body=json.dumps(body))
        return None

    patches.replace(Rule, "send_to_targets", send_to_targets)


def _allowed(enforcer: Enforcer, rule: Rule, queue_arn: str) -> bool:
    events = Principal.aws_service("events.amazonaws.com", "events.amazonaws.com",
                                   **{"aws:SourceArn": rule.arn, "aws:SourceAccount": enforcer.account_id})
    checks = [Check("sqs:SendMessage", queue_arn, events.context)]
    checks += enforcer._implied_kms(checks, events)
    return enforcer.first_denial(events, checks) is None
