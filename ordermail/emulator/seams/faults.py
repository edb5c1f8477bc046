"""Fault injection: SES throttling and rejection, DynamoDB throttling, Lambda service errors, duplicate
SNS → SQS deliveries; random (options.Faults) or scripted for the next calls (FaultScript, tests).
Each error is serialized by moto exactly as the real service answers it."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.responses import DynamoHandler
from moto.sns.models import Subscription

if TYPE_CHECKING:
    from ..options import Faults
    from .patches import Patches

SEAMS: dict[str, tuple[object, str]] = {
    **{f"dynamodb_handler_{action}": (DynamoHandler, action)
       for action in ("update_item", "put_item", "get_item", "query")},
    "sns_subscription_publish": (Subscription, "publish"),
}


# --- errors moto serializes like the real services ------------------------------------------


class _ServiceFault(JsonRESTError):
    code = 400


class SesThrottled(_ServiceFault):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Maximum sending rate exceeded (injected fault).")


class SesRejected(_ServiceFault):
    def __init__(self, reason: str = "Email address is not verified (injected fault).") -> None:
        super().__init__("MessageRejected", reason)


class DynamoThrottled(_ServiceFault):
    def __init__(self) -> None:
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded (injected fault).",
        )


class LambdaServiceFault(_ServiceFault):
    code = 500

    def __init__(self) -> None:
        super().__init__("ServiceException", "The AWS Lambda service encountered an internal error (injected fault).")


# --- scripted faults (tests): "the next two SendEmail calls are throttled" -----------------------


class FaultScript:
    """Queues of errors to raise on the next calls of a target, before any random fault.

    Targets: `ses` (SesThrottled, SesRejected), `dynamodb` (DynamoThrottled), `lambda` (the
    workflow's functions) or one function's name; a LambdaServiceFault fails the invoke itself
    (`Lambda.ServiceException`), any other exception is raised by the handler (a function error).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[Exception]] = {}

    def add(self, target: str, *errors: Exception) -> None:
        with self._lock:
            self._queues.setdefault(target, []).extend(errors)

    def take(self, target: str) -> Exception | None:
        with self._lock:
            queue = self._queues.get(target)
            return queue.pop(0) if queue else None

    def pending(self, target: str) -> int:
        with self._lock:
            return len(self._queues.get(target, []))


# --- faults -----------------------------------------------------------------------------------


_DYNAMO_FAULT_ACTIONS = ("update_item", "put_item", "get_item", "query")


def install_ddb_faults(patches: Patches, *, faults: Faults, rng: random.Random, script: FaultScript) -> None:
    """Seam `dynamodb_handler`: throttle a share of item reads and writes, before they apply."""
    for action in _DYNAMO_FAULT_ACTIONS:
        original = getattr(DynamoHandler, action)

        def throttled(self: DynamoHandler, _original: Any = original) -> Any:
            scripted = script.take("dynamodb")
            if scripted is not None:
                raise scripted
            if faults.ddb_throttle_rate and rng.random() < faults.ddb_throttle_rate:
                raise DynamoThrottled()
            return _original(self)

        patches.replace(DynamoHandler, action, throttled)


def install_sns_duplicates(patches: Patches, *, faults: Faults, rng: random.Random, queue_arns: set[str]) -> None:
    """Seam `sns_subscription_publish`: SNS is at-least-once; deliver some messages to the queue twice."""
    if not faults.sns_duplicate_rate:
        return
    original = Subscription.publish

    def publish(self: Subscription, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if self.endpoint in queue_arns and rng.random() < faults.sns_duplicate_rate:
            original(self, *args, **kwargs)
        return result

    patches.replace(Subscription, "publish", publish)
