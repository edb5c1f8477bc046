"""In-process Lambda: `LambdaFunction._invoke_lambda` runs the handler modules in this process instead
of Docker (both `lambda:invoke` from the state machine and SNS → Lambda delivery go through it)."""

from __future__ import annotations

import importlib
import json
import random
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.awslambda.models import LambdaFunction

from ..async_invoke import is_sns_event
from .faults import FaultScript, LambdaServiceFault

if TYPE_CHECKING:
    from ..options import Faults
    from .patches import Patches

SEAMS: dict[str, tuple[object, str]] = {"lambda_invoke": (LambdaFunction, "_invoke_lambda")}


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
