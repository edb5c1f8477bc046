"""The EventBridge Pipe: SQS orders queue → EXPRESS state machine, synchronously (REQUEST_RESPONSE).

moto's Pipes are metadata only and it has no StartSyncExecution, so the runtime runs the Pipe:
receive one message (batch size 1), hand the state machine exactly the input the deployed Pipe
would (a JSON array with one SQS record, no input template), run the execution to its end, delete
the message when it succeeded and leave it for redelivery when it failed — the queue's redrive
policy then moves it to the DLQ after `maxReceiveCount` receives, as on AWS.

Under IAM enforcement the poller acts as the Pipe's role: its receive and delete are evaluated by
the runtime's request seam, and StartSyncExecution (not a moto API) is evaluated here. A denied
start leaves the message in the queue, as a Pipe whose target invocation fails does; so does a
start Step Functions refuses (an input over its 256 KB quota, quotas.py).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import SyncExecution

from .iam.enforce import acting_as
from .quotas import ExecutionInputTooLarge

if TYPE_CHECKING:
    from .iam.enforce import Enforcer


@dataclass(slots=True)  # one per execution, kept for the runtime's life: no per-instance __dict__
class ExecutionResult:
    execution_arn: str
    status: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    error: str | None
    cause: str | None
    started: float  # time.time()
    seconds: float
    sent_timestamp_ms: int
    receive_count: int
    history: list[dict[str, Any]] | None = None


def to_pipe_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as a Pipe hands it to its target (the Lambda-style SQS record)."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class ExecutionRunner:
    """Runs one execution to its end and reports how it ended.

    fast=True: a synchronous execution on the caller's thread, like StartSyncExecution; nothing is
    kept afterwards (Express keeps no execution history either). fast=False: stock moto —
    StartExecution (state machine deep-copied, definition parsed, worker thread), polled until done.
    """

    def __init__(self, backend: Any, state_machine_arn: str, *, fast: bool, keep_history: bool = False) -> None:
        self._backend = backend
        self._state_machine_arn = state_machine_arn
        self._fast = fast
        self._keep_history = keep_history

    def run(self, execution_input: str) -> tuple[str, str, str | None, str | None, list[dict[str, Any]] | None]:
        state_machine = self._backend.describe_state_machine(self._state_machine_arn)
        name = uuid.uuid4().hex
        if self._fast:
            arn = (
                f"arn:aws:states:{self._backend.region_name}:{self._backend.account_id}:express:"
                f"{state_machine.name}:{name}:{uuid.uuid4()}"
            )
            execution = SyncExecution(
                name=name,
                sm_type=state_machine.sm_type,
                role_arn=state_machine.roleArn,
                exec_arn=arn,
                account_id=self._backend.account_id,
                region_name=self._backend.region_name,
                state_machine=state_machine,
                start_date=datetime.datetime.now(tz=datetime.UTC),
                cloud_watch_logging_session=None,
                activity_store={},
                input_data=execution_input,
            )
            execution.start()
        else:
            execution = self._backend.start_execution(
                self._state_machine_arn, name=name, execution_input=execution_input
            )
            while execution.exec_status == ExecutionStatus.RUNNING:
                time.sleep(0.002)
        history = None
        if self._keep_history and execution.exec_worker and execution.exec_worker.env:
            history = [dict(event) for event in execution.exec_worker.env.event_manager.get_event_history()]
        status = execution.exec_status.value if execution.exec_status else "FAILED"
        return execution.exec_arn, status, execution.error, execution.cause, history


class PipePoller:
    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        runner: ExecutionRunner,
        workers: int,
        on_result: Callable[[ExecutionResult], None],
        iam: Enforcer | None = None,
        state_machine_arn: str = "",
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._runner = runner
        self._workers = workers
        self._on_result = on_result
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._threads: list[threading.Thread] = []
        self.errors = 0
        self._iam = iam
        self._principal = iam.principals.pipe if iam is not None else None
        self._state_machine_arn = state_machine_arn
        self.denied_starts = 0
        self.last_denial = ""
        self.refused_starts = 0  # inputs over Step Functions' 256 KB
        self.last_refusal = ""

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def start(self) -> None:
        for index in range(self._workers):
            thread = threading.Thread(target=self._loop, name=f"pipe-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self._lock:
                    self._in_flight += 1  # counted before the receive so idleness checks never race it
                try:
                    self._poll_once()
                finally:
                    with self._lock:
                        self._in_flight -= 1
            except Exception:
                self.errors += 1
                time.sleep(0.1)

    def _start_allowed(self) -> bool:
        if self._iam is None or self._principal is None:
            return True
        from .iam.calls import Check

        verdict = self._iam.first_denial(self._principal, [Check("states:StartSyncExecution", self._state_machine_arn)])
        if verdict is None:
            return True
        self.denied_starts += 1
        self.last_denial = verdict.message
        return False

    def _poll_once(self) -> None:
        with acting_as(self._principal):
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        messages = response.get("Messages", [])
        if not messages:
            with self._lock:
                self._in_flight -= 1
            try:
                self._stop.wait(0.02)
            finally:
                with self._lock:
                    self._in_flight += 1
            return
        message = messages[0]
        if not self._start_allowed():
            return  # the message becomes visible again after its visibility timeout
        record = to_pipe_record(message, queue_arn=self._queue_arn, region=self._region)
        started = time.time()
        clock = time.perf_counter()
        try:
            arn, status, error, cause, history = self._runner.run(json.dumps([record]))
        except ExecutionInputTooLarge as refused:  # Step Functions refuses the start (quotas.py)
            self.refused_starts += 1
            self.last_refusal = refused.message
            return  # as a failed target invocation: the message is redelivered, then dead-lettered
        result = ExecutionResult(
            execution_arn=arn,
            status=status,
            error=error,
            cause=cause,
            started=started,
            seconds=time.perf_counter() - clock,
            sent_timestamp_ms=int(record["attributes"]["SentTimestamp"]),
            receive_count=int(record["attributes"]["ApproximateReceiveCount"]),
            history=history,
        )
        try:
            if status == "SUCCEEDED":
                with acting_as(self._principal):
                    self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        finally:  # a refused delete redelivers the message (the claim makes that harmless); still a result
            self._on_result(result)
