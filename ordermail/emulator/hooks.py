"""Every place the embedded runtime changes moto, in one module.

moto is pinned exactly (requirements.txt). Each hook below names the moto seam it patches;
`tests/integration/test_moto_seams.py` fails loudly if an upgrade moves one. A hook is installed
with `Patches.replace`, so `Patches.undo()` restores moto exactly (tests install and remove them).

- in-process Lambda: `LambdaFunction._invoke_lambda` runs our handler modules in this process
  (both `lambda:invoke` from the state machine and SNS → Lambda delivery go through it);
- SESv2 SendEmail capture: `SESV2Response.send_email` hands each accepted mail (with its
  configuration set and tags, which moto's backend drops) to the outbox and the SES event publisher;
- SES error names: the aws-sdk integration names SESv2 errors `SesV2.<Error>Exception`, as AWS does;
- time scale: the interpreter's retry back-off sleeps are multiplied by the runtime's clock factor;
- speed (fast mode only): parsed definitions, boto3 clients and JSONPath parsers are cached,
  handled errors are not logged with a repr of the whole definition, and fastpaths.py: DynamoDB
  update expressions parsed once and validated without moto's repeated tree walks, the
  interpreter's JSON deep copies and botocore's User-Agent building made cheap;
- fault injection: SES throttling/rejection, DynamoDB throttling, Lambda service errors, duplicate
  SNS → SQS deliveries;
- API call counting: every request moto serves, by service and action (the benchmark's counts);
- DynamoDB item writes made atomic (moto evaluates a condition and writes without a lock);
- DynamoDB capacity metering (opt-in): the read/write units each request would consume on AWS;
- queue speed (fast mode only): moto's SQS queue scans every message, reading the clock for
  each, on every send/receive/delete; a lazy view and one-pass delete keep bursts linear.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import importlib
import json
import logging
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.sesv2.responses import SESV2Response
from moto.sns.models import Subscription
from moto.sqs.models import Queue as SqsQueue
from moto.stepfunctions.parser.asl.component import eval_component
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state import state as sfn_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_dynamodb,
)
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend import execution_worker

from . import fastpaths
from .async_invoke import is_sns_event
from .options import Faults

__all__ = ["FaultScript", "Faults", "Patches"]

# What the handlers' one Powertools `Metrics` does to its (process-wide) metric set.
POWERTOOLS_METRIC_METHODS: Final = (
    "add_metric", "add_dimension", "add_metadata", "serialize_metric_set", "flush_metrics", "clear_metrics",
)
# What the handlers' one Powertools `Logger` does to its formatter's (process-wide) keys.
POWERTOOLS_FORMATTER_METHODS: Final = ("append_keys", "remove_keys", "clear_state", "format")

# The seams, named once: tests assert each still exists on the pinned moto.
SEAMS: dict[str, tuple[object, str]] = {
    "lambda_invoke": (LambdaFunction, "_invoke_lambda"),
    "sesv2_send_email": (SESV2Response, "send_email"),
    "sfn_aws_sdk_error_names": (state_task_service_aws_sdk, "_SERVICE_ERROR_NAMES"),
    "sfn_retry_sleep": (retrier_decl, "time"),
    "sfn_definition_parse": (execution_worker.ExecutionWorker, "_get_evaluation_entrypoint"),
    "sfn_boto_client": (sfn_boto_client, "boto_client_for"),
    "sfn_jsonpath_parse": (json_path, "parse"),
    "dynamodb_handler": (DynamoHandler, "update_item"),
    "sns_subscription_publish": (Subscription, "publish"),
    "api_call_action": (BaseResponse, "call_action"),
    "sfn_error_logging": (eval_component.EvalComponent, "_log_exception"),
    "sqs_queue_messages": (SqsQueue, "messages"),
    "sqs_queue_delete": (SqsQueue, "delete_message"),
    "dynamodb_table_init": (Table, "__init__"),
    **{f"powertools_metrics_{name}": (AmazonCloudWatchEMFProvider, name) for name in POWERTOOLS_METRIC_METHODS},
    **{f"powertools_logger_{name}": (LambdaPowertoolsFormatter, name) for name in POWERTOOLS_FORMATTER_METHODS},
    **fastpaths.SEAMS,
}

# Modules that imported `boto_client_for` by name: each must see the cached factory.
_BOTO_CLIENT_IMPORTERS = (
    sfn_boto_client,
    lambda_eval_utils,
    state_task_service_aws_sdk,
    state_task_service_dynamodb,
)


class Patches:
    """Attribute replacements that can be undone in reverse order."""

    def __init__(self) -> None:
        self._undo: list[tuple[object, str, Any, bool]] = []

    def replace(self, owner: object, attribute: str, value: Any) -> Any:
        had = attribute in vars(owner) if isinstance(owner, type) else hasattr(owner, attribute)
        # A class's own attribute is kept as stored (a classmethod stays a classmethod on undo).
        original = vars(owner)[attribute] if had and isinstance(owner, type) else getattr(owner, attribute, None)
        self._undo.append((owner, attribute, original, had))
        setattr(owner, attribute, value)
        return original

    def undo(self) -> None:
        while self._undo:
            owner, attribute, original, had = self._undo.pop()
            if had:
                setattr(owner, attribute, original)
            else:
                delattr(owner, attribute)


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


# --- in-process Lambda ------------------------------------------------------------------------


@dataclass
class LambdaContext:
    """What Powertools and our handlers read from the Lambda context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline_ms: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


@dataclass
class Invocation:
    function_name: str
    started: float
    seconds: float
    errored: bool
    cpu_seconds: float = 0.0  # the handler thread's CPU time (its in-process AWS calls included)


def _load_handler(handler_path: str) -> Callable[[Any, Any], Any]:
    module_name, _, attribute = handler_path.rpartition(".")
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attribute)
    return handler


def _raising(error: Exception) -> Callable[[Any, Any], Any]:
    def handler(event: Any, context: Any) -> Any:
        raise error

    return handler


def install_inprocess_lambda(
    patches: Patches,
    *,
    faults: Faults,
    rng: random.Random,
    fault_functions: frozenset[str],
    on_invocation: Callable[[Invocation], None],
    script: FaultScript,
    on_async_error: Callable[[LambdaFunction, Any, str], None] | None = None,
) -> None:
    """Seam `lambda_invoke`: run `Handler` of the function in this process instead of Docker.

    Returns the payload and the error flag exactly as moto's Docker path would: an exception becomes
    `{"errorType", "errorMessage", "stackTrace"}` with FunctionError set, which the interpreter turns
    into the error name `errorType` (so `raise InvalidOrder(...)` is caught as `InvalidOrder`).
    A failed invocation by SNS (asynchronous on AWS) goes to `on_async_error(function, event,
    payload)`, which retries it as Lambda would (async_invoke.py). Scripted faults (`FaultScript`)
    apply to any function named in them; random and `lambda` ones only to `fault_functions`.
    """

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        scripted = script.take(self.function_name) or (
            script.take("lambda") if self.function_name in fault_functions else None
        )
        if isinstance(scripted, LambdaServiceFault):
            raise scripted
        if (
            self.function_name in fault_functions
            and faults.lambda_error_rate
            and rng.random() < faults.lambda_error_rate
        ):
            raise LambdaServiceFault()
        handler = _load_handler(str(self.handler))
        if scripted is not None:
            handler = _raising(scripted)
        context = LambdaContext(
            function_name=self.function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=int(self.memory_size or 128),
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{self.function_name}",
            deadline_ms=time.time() * 1000 + int(self.timeout or 3) * 1000,
        )
        started = time.perf_counter()
        cpu_started = time.thread_time()
        errored = False
        try:
            result = handler(event if event is not None else {}, context)
            payload = json.dumps(result)
        except Exception as exc:
            errored = True
            payload = json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
                }
            )
        on_invocation(Invocation(self.function_name, started, time.perf_counter() - started, errored,
                                 time.thread_time() - cpu_started))
        if errored and on_async_error is not None and is_sns_event(event):
            on_async_error(self, event, payload)
        return payload, errored, ""

    patches.replace(LambdaFunction, "_invoke_lambda", _invoke_lambda)


# --- SES ------------------------------------------------------------------------------------


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


def install_sfn_error_names(patches: Patches) -> None:
    """Seam `sfn_aws_sdk_error_names`: AWS names SESv2 errors `SesV2.*Exception`; moto says `sesv2.*`."""
    names = dict(state_task_service_aws_sdk._SERVICE_ERROR_NAMES)
    names["sesv2"] = "SesV2"
    patches.replace(state_task_service_aws_sdk, "_SERVICE_ERROR_NAMES", names)


class _AwsTimestamp(_dt.datetime):
    """Step Functions writes `$$.State.EnteredTime` as `2026-11-23T10:00:00.123Z`; moto as
    `...00.123456+00:00`. The ledger compares these strings (the byStatus index sorts on them)."""

    def isoformat(self, sep: str = "T", timespec: str = "milliseconds") -> str:
        return _dt.datetime.isoformat(self.astimezone(_dt.UTC), sep, "milliseconds").replace("+00:00", "Z")


class _AwsDatetimeModule:
    timezone = _dt.timezone

    class datetime:
        @staticmethod
        def now(tz: _dt.tzinfo | None = None) -> _AwsTimestamp:
            moment = _dt.datetime.now(tz)
            return _AwsTimestamp(
                moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                moment.microsecond, tzinfo=moment.tzinfo,
            )


def install_aws_timestamps(patches: Patches) -> None:
    """Seam `sfn_state_entered_time`: `$$.State.EnteredTime` in the format AWS uses."""
    patches.replace(sfn_state, "datetime", _AwsDatetimeModule)


# --- time -----------------------------------------------------------------------------------


class _ScaledTime:
    """Stands in for the `time` module inside the interpreter's retrier: sleeps are scaled."""

    def __init__(self, scale: float) -> None:
        self._scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self._scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def install_time_scale(patches: Patches, scale: float) -> None:
    """Seam `sfn_retry_sleep`: Retry back-offs sleep `scale` times as long (tests, demo, bench)."""
    patches.replace(retrier_decl, "time", _ScaledTime(scale))


# --- speed ------------------------------------------------------------------------------------


def install_sfn_caches(patches: Patches) -> None:
    """Seams `sfn_definition_parse`, `sfn_boto_client`, `sfn_jsonpath_parse`, and fastpaths.SEAMS.

    moto re-parses the definition (ANTLR), builds new boto3 clients for every task and re-compiles
    every JSONPath per execution. The parsed program keeps per-execution state in the Environment,
    not in its components, so one parse serves every execution of a definition.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    @functools.lru_cache(maxsize=16)
    def parse_definition(definition: str) -> Any:
        return AmazonStateLanguageParser.parse(definition)[0]

    def _get_evaluation_entrypoint(self: Any) -> Any:
        return parse_definition(self._evaluation_details.state_machine_details.definition)

    patches.replace(execution_worker.ExecutionWorker, "_get_evaluation_entrypoint", _get_evaluation_entrypoint)

    original_factory = sfn_boto_client.boto_client_for
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        client = clients.get(key)
        if client is None:
            with lock:
                client = clients.get(key) or original_factory(region, service, state_credentials)
                clients[key] = client
        return client

    for module in _BOTO_CLIENT_IMPORTERS:
        patches.replace(module, "boto_client_for", boto_client_for)

    patches.replace(json_path, "parse", functools.lru_cache(maxsize=512)(json_path.parse))

    # DynamoDB update expressions, the interpreter's JSON deep copies, botocore's User-Agent header
    # (seams in fastpaths.SEAMS; see its docstring).
    fastpaths.install_fast_paths(patches)


def install_quiet_interpreter_logs(patches: Patches) -> None:
    """Seam `sfn_error_logging`: moto logs every caught error with `repr()` of the whole component
    tree (kilobytes, eagerly built, even when the error is handled by a Catch or a Choice). The
    runtime keeps those logs only when the interpreter's logger is at DEBUG."""
    logger = logging.getLogger(eval_component.__name__)
    logger.setLevel(logging.CRITICAL)
    for name in ("_log_exception", "_log_failure_event_exception"):
        original = getattr(eval_component.EvalComponent, name)

        def quiet(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            if logger.isEnabledFor(logging.DEBUG):
                _original(self, *args, **kwargs)

        patches.replace(eval_component.EvalComponent, name, quiet)


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


# --- counting -----------------------------------------------------------------------------------


class ApiCounter:
    """Requests moto served, by (service, action), and the CPU time moto spent serving them. Thread-safe.

    `cpu_seconds` is exclusive: a request served inside another (SNS delivering to a Lambda function
    whose handler calls DynamoDB) is charged to itself, not to the outer one. It is the thread CPU
    time of the server side only (plus, for Lambda Invoke and SNS Publish to a function, the handler
    run in-process); the caller's botocore serialization and parsing are not included.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.cpu_seconds: Counter[tuple[str, str]] = Counter()
        self._local = threading.local()

    def add(self, service: str, action: str) -> None:
        with self._lock:
            self.calls[(service, action)] += 1

    def timed(self, key: tuple[str, str], call: Callable[[], Any]) -> Any:
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(0.0)  # CPU time of nested requests, to subtract
        started = time.thread_time()
        try:
            return call()
        finally:
            spent = time.thread_time() - started
            nested = stack.pop()
            if stack:
                stack[-1] += spent
            with self._lock:
                self.cpu_seconds[key] += spent - nested

    def cpu_snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            out: dict[str, dict[str, float]] = {}
            for (service, action), seconds in sorted(self.cpu_seconds.items()):
                out.setdefault(service, {})[action] = seconds
            return out

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (service, action), count in sorted(self.calls.items()):
                out.setdefault(service, {})[action] = count
            return out

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.cpu_seconds.clear()


def install_powertools_locks(patches: Patches) -> None:
    """Seams `powertools_metrics_*`, `powertools_logger_*`: locks around the handlers' Powertools
    metric set and log keys.

    On AWS each function instance is a process handling one event at a time. Here the validate,
    render and feedback handlers run on several threads of one process and share tasks/observability's
    `Metrics` and `Logger`, whose metric set and log keys are plain dicts: a flush (or a log line) on
    one thread while another adds a metric (or appends keys) fails with "dictionary changed size
    during iteration" — an error AWS could never raise.
    """
    metrics_lock = threading.RLock()
    logger_lock = threading.RLock()

    def locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return call

    for name in POWERTOOLS_METRIC_METHODS:
        patches.replace(AmazonCloudWatchEMFProvider, name,
                        locked(vars(AmazonCloudWatchEMFProvider)[name], metrics_lock))
    for name in POWERTOOLS_FORMATTER_METHODS:
        patches.replace(LambdaPowertoolsFormatter, name, locked(vars(LambdaPowertoolsFormatter)[name], logger_lock))


def install_api_counter(patches: Patches, counter: ApiCounter) -> None:
    """Seam `api_call_action`: count every API request moto serves, in-process or over HTTP."""
    original = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        key = ("unknown", "unknown")
        with contextlib.suppress(Exception):  # counting must never break a request
            key = (self.service_name or "unknown", self._get_action())
            counter.add(*key)
        return counter.timed(key, lambda: original(self))

    patches.replace(BaseResponse, "call_action", call_action)


# --- metering and queue speed (the benchmark: ordermail/bench) ---------------------------------


_DYNAMO_WRITE_ACTIONS = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")


def install_ddb_atomic_writes(patches: Patches, *, after_write: Callable[[], None] | None = None) -> None:
    """Seam `dynamodb_handler`: make each item write atomic, as DynamoDB does.

    moto applies a conditional write in steps (read the item, evaluate the condition, write) with no
    lock, so two requests in two threads can both pass `attribute_not_exists(orderId)` and both
    "win" the claim: the workflow then sends two mails where AWS would have refused the second
    claim (found by the benchmark with concurrent duplicate deliveries). One lock serializes the
    write actions; reads stay concurrent. Install it before any other DynamoDB hook (innermost).
    `after_write` runs inside the lock after each write action, failed or not (memory.py: the
    compact item store encodes the items the write touched).
    """
    lock = threading.RLock()
    for action in _DYNAMO_WRITE_ACTIONS:
        original = getattr(DynamoHandler, action)

        def atomic(self: DynamoHandler, _original: Any = original) -> Any:
            with lock:
                try:
                    return _original(self)
                finally:
                    if after_write is not None:
                        after_write()

        patches.replace(DynamoHandler, action, atomic)


class CapacityMeter:
    """DynamoDB capacity units the requests moto served would consume on AWS (on-demand mode).

    Writes (PutItem, UpdateItem, DeleteItem): 1 write unit per started KB of the larger of the item
    before and after the write, at least 1 (a write refused by its condition is billed on the item
    as it was), plus 1 unit per global secondary index entry written or deleted (an index key that
    changes is a delete and a put; KEYS_ONLY entries are far below 1 KB). Reads: 1 read unit per
    started 4 KB (GetItem: the item; Query: the items returned), half for eventually consistent
    reads. Item sizes are moto's `Item.size()` (attribute names plus values, without DynamoDB's few
    bytes of list/map overhead). Throttled requests (injected faults) never reach the meter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.write_units = 0.0
        self.index_write_units = 0.0
        self.read_units = 0.0
        self.requests: Counter[str] = Counter()

    def add(self, action: str, *, write: float = 0.0, index: float = 0.0, read: float = 0.0) -> None:
        with self._lock:
            self.requests[action] += 1
            self.write_units += write
            self.index_write_units += index
            self.read_units += read

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "write_units": self.write_units,
                "index_write_units": self.index_write_units,
                "read_units": self.read_units,
                "requests": dict(self.requests),
            }

    def reset(self) -> None:
        with self._lock:
            self.write_units = self.index_write_units = self.read_units = 0.0
            self.requests.clear()


def _metered_item(handler: DynamoHandler, key: dict[str, Any] | None) -> tuple[Any, Any]:
    """(table, stored item or None) for a request's key; (None, None) when it cannot be resolved."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = handler.dynamodb_backend.get_table(handler.body["TableName"])
        if not key or table.hash_key_attr not in key:
            return table, None
        hash_value = DynamoType(key[table.hash_key_attr])
        range_attr = table.range_key_attr
        range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
        return table, table.get_item(hash_value, range_value)
    except Exception:
        return None, None


def _index_entries(table: Any, item: Any) -> list[tuple[str, Any]]:
    """(index name, key values) of every global secondary index entry the item has."""
    if table is None or item is None:
        return []
    entries = []
    for index in table.global_indexes:
        attributes = [element["AttributeName"] for element in index.schema]
        if all(name in item.attrs for name in attributes):
            entries.append((index.name, tuple(str(item.attrs[name].value) for name in attributes)))
    return entries


def _kb_units(size: float, unit: int) -> float:
    return float(max(1, -(-int(size) // unit)))


def install_ddb_capacity_meter(patches: Patches, meter: CapacityMeter) -> None:
    """Seam `dynamodb_handler`: meter the capacity units of item reads and writes (see CapacityMeter).

    Install it before `install_ddb_faults`, so a throttled request is refused before it is metered.
    """
    for action in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoHandler, action)

        def metered_write(self: DynamoHandler, _original: Any = original, _action: str = action) -> Any:
            key = self.body.get("Key")
            if key is None and isinstance(self.body.get("Item"), dict):
                key = self.body["Item"]
            table, before = _metered_item(self, key)
            size_before = before.size() if before is not None else 0
            entries_before = set(_index_entries(table, before))
            try:
                result = _original(self)
            except Exception as exc:
                if "ConditionalCheckFailed" in type(exc).__name__:
                    meter.add(_action, write=_kb_units(size_before, 1024))
                raise
            _, after = _metered_item(self, key)
            size_after = after.size() if after is not None else 0
            entries_after = set(_index_entries(table, after))
            changed = len(entries_before ^ entries_after)  # a changed key: one delete + one put
            meter.add(_action, write=_kb_units(max(size_before, size_after), 1024), index=float(changed))
            return result

        patches.replace(DynamoHandler, action, metered_write)

    for action in ("get_item", "query"):
        original = getattr(DynamoHandler, action)

        def metered_read(self: DynamoHandler, _original: Any = original, _action: str = action) -> Any:
            result = _original(self)
            try:
                body = result.result if hasattr(result, "result") else json.loads(result)
                items = [body["Item"]] if body.get("Item") else list(body.get("Items") or [])
                size = sum(_attrs_size(item) for item in items)
                factor = 1.0 if self.body.get("ConsistentRead") else 0.5
                meter.add(_action, read=_kb_units(size, 4096) * factor)
            except Exception:  # noqa: S110 - metering must never break a request
                pass
            return result

        patches.replace(DynamoHandler, action, metered_read)


def _attrs_size(attributes: Any) -> int:
    from moto.dynamodb.models.dynamo_type import DynamoType

    total = 0
    for name, value in dict(attributes).items():
        typed = value if isinstance(value, DynamoType) else DynamoType(value)
        total += len(str(name).encode("utf-8")) + typed.size()
    return total


class _VisibleMessages:
    """`Queue.messages` as a lazy view: visible and not delayed, in queue order, one clock read."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def _scan(self) -> Any:
        from moto.sqs import models as sqs_models

        now = sqs_models.unix_time_millis()
        for message in self._queue._messages:
            if now > message.visible_at and not now < message.delayed_until:
                yield message

    def __iter__(self) -> Any:
        return self._scan()

    def __len__(self) -> int:
        return sum(1 for _ in self._scan())

    def __bool__(self) -> bool:
        return any(True for _ in self._scan())


def install_sqs_fast_paths(patches: Patches) -> None:
    """Seams `sqs_queue_messages`, `sqs_queue_delete` (fast mode only).

    moto keeps a queue's messages in one list and reads the clock once per message per check:
    every ReceiveMessage first builds the list of all visible messages (`Queue.messages`), every
    SendMessage computes all queue attributes — three more scans — to read one flag, and
    DeleteMessage scans twice. With thousands of orders queued (a burst) each request costs tens of
    milliseconds and the run goes quadratic. Here: a lazy view (a receive stops at the first
    visible message), one clock read per count, a one-pass delete. Same order, same rules.
    """
    from moto.sqs import models as sqs_models

    queue_class = sqs_models.Queue

    def _count(queue: Any, predicate: Callable[[Any, float], bool]) -> int:
        now = sqs_models.unix_time_millis()
        return sum(1 for message in queue._messages if predicate(message, now))

    patches.replace(queue_class, "messages", property(lambda self: _VisibleMessages(self)))
    patches.replace(queue_class, "approximate_number_of_messages",
                    property(lambda self: len(_VisibleMessages(self))))
    patches.replace(queue_class, "approximate_number_of_messages_not_visible",
                    property(lambda self: _count(self, lambda m, now: not now > m.visible_at)))
    patches.replace(queue_class, "approximate_number_of_messages_delayed",
                    property(lambda self: _count(self, lambda m, now: now < m.delayed_until)))

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: moto (and SQS) accept it again
        messages = self._messages
        for position, message in enumerate(messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
                # A new list, as moto does: a receive in another thread may be iterating the old one.
                self._messages = messages[:position] + messages[position + 1:]
                return
        raise sqs_models.ReceiptHandleIsInvalid()

    patches.replace(queue_class, "delete_message", delete_message)
