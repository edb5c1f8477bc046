"""Lambda's asynchronous invocation for the function SNS triggers (the feedback function).

moto delivers a topic's message to a subscribed function once, synchronously, and forgets a
function error. On AWS, SNS invokes the function asynchronously: Lambda retries a function error
twice (about one and two minutes later) and then sends the event to the function's dead-letter
queue, with the `RequestID`, `ErrorCode` and `ErrorMessage` message attributes. The feedback handler
relies on that: an SES event it could not apply (DynamoDB throttled past the SDK's retries, the
optimistic lock lost five times) raises, and the retry applies it. Without the retries an event
would be lost and its order would stay SENT for good.

`AsyncRetrier` gives the runtime those semantics: the in-process Lambda hook reports every failed
SNS-triggered invocation (`failed`), the retrier invokes it again after the (scaled) delays on its
own thread, and after the last attempt hands the event to `dead_letter`.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from .iam import enforce as iam_enforce

# Lambda's retry schedule for asynchronous invocations: two retries, about 1 and 2 minutes later.
RETRY_DELAYS_SECONDS: Final = (60.0, 120.0)


def is_sns_event(event: Any) -> bool:
    """An SNS notification event (SNS invokes its Lambda subscribers asynchronously)."""
    if not isinstance(event, dict):
        return False
    records = event.get("Records")
    return bool(records) and isinstance(records, list) and isinstance(records[0], dict) and (
        records[0].get("EventSource") == "aws:sns"
    )


class AsyncRetrier:
    """Retries failed asynchronous invocations on one daemon thread, then dead-letters them.

    `invoke(function, event)` runs the function again and returns (payload, errored);
    `dead_letter(function, event, payload)` receives an event whose every attempt failed.
    """

    def __init__(
        self,
        invoke: Callable[[Any, Any], tuple[str, bool]],
        dead_letter: Callable[[Any, Any, str], None],
        *,
        delays: tuple[float, ...],
    ) -> None:
        self._invoke = invoke
        self._dead_letter = dead_letter
        self._delays = delays
        self._heap: list[tuple[float, int, int, Any, Any]] = []  # (due, seq, attempt, function, event)
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._in_flight = 0
        self._stopped = False
        self.retried = 0
        self.recovered = 0
        self.dead_lettered = 0
        self._thread = threading.Thread(target=self._run, name="lambda-async-retries", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join(timeout=5)

    def on_own_thread(self) -> bool:
        """True inside the retrier's own invocations (their outcome is handled here, not reported)."""
        return threading.current_thread() is self._thread

    def failed(self, function: Any, event: Any, payload: str) -> None:
        """A first attempt failed: schedule the retries (or dead-letter at once if there are none)."""
        if not self._delays:
            self._dead_letter(function, event, payload)
            self.dead_lettered += 1
            return
        self._schedule(function, event, attempt=1)

    def pending(self) -> int:
        with self._condition:
            return len(self._heap) + self._in_flight

    def _schedule(self, function: Any, event: Any, *, attempt: int) -> None:
        due = time.monotonic() + self._delays[attempt - 1]
        with self._condition:
            heapq.heappush(self._heap, (due, next(self._sequence), attempt, function, event))
            self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._condition.wait(timeout=timeout)
                if self._stopped:
                    return
                _, _, attempt, function, event = heapq.heappop(self._heap)
                self._in_flight += 1
            try:
                self.retried += 1
                payload, errored = self._invoke(function, event)
                if not errored:
                    self.recovered += 1
                elif attempt < len(self._delays):
                    self._schedule(function, event, attempt=attempt + 1)
                else:
                    self._dead_letter(function, event, payload)
                    self.dead_lettered += 1
            except Exception:  # the dead-letter send itself failed: nothing left to do but count it
                self.dead_lettered += 1
            finally:
                with self._condition:
                    self._in_flight -= 1
                    self._condition.notify_all()


def dead_letter_feedback(runtime: Any, function: Any, event: Any, payload: str) -> None:
    """What Lambda sends to the function's dead-letter queue after the last failed attempt."""
    if function.function_name != runtime.names["feedback_function"]:
        return  # only the feedback function has a DLQ (as deployed)
    error = json.loads(payload) if payload else {}
    sqs = runtime.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=runtime.names["feedback_dlq"])["QueueUrl"]
    principal = runtime.iam.principals.functions.get(function.function_name) if runtime.iam else None
    with iam_enforce.acting_as(principal):  # Lambda sends to a function's DLQ with the function's role
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(error.get("requestId") or "unknown")},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},  # the function returned an error
                "ErrorMessage": {"DataType": "String",
                                 "StringValue": str(error.get("errorMessage") or error.get("errorType") or "error")[:1000]},
            },
        )
