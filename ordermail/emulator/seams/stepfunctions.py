"""The Step Functions interpreter (moto's port of LocalStack's): AWS's error names for SESv2 and its
timestamp format, binary DynamoDB values as AWS stores them, retry back-offs on the runtime's clock, and (fast mode) parsed definitions, boto3
clients and JSONPath parsers cached."""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import threading
import time
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state import state as sfn_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_dynamodb,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend import execution_worker

from . import fastpaths

if TYPE_CHECKING:
    from .patches import Patches

# Modules that imported `boto_client_for` by name: each must see the cached factory.
_BOTO_CLIENT_IMPORTERS = (
    sfn_boto_client,
    lambda_eval_utils,
    state_task_service_aws_sdk,
    state_task_service_dynamodb,
)

SEAMS: dict[str, tuple[object, str]] = {
    "sfn_aws_sdk_error_names": (state_task_service_aws_sdk, "_SERVICE_ERROR_NAMES"),
    "sfn_retry_sleep": (retrier_decl, "time"),
    "sfn_wait_scale": (WaitFunction, "_wait_interval"),
    "sfn_state_entered_time": (sfn_state, "datetime"),
    "sfn_definition_parse": (execution_worker.ExecutionWorker, "_get_evaluation_entrypoint"),
    **{f"sfn_boto_client_{module.__name__.rsplit('.', 1)[-1]}": (module, "boto_client_for")
       for module in _BOTO_CLIENT_IMPORTERS},
    "sfn_jsonpath_parse": (json_path, "parse"),
    "sfn_dynamodb_binary": (state_task_service_dynamodb.StateTaskServiceDynamoDB, "_eval_service_task"),
}


def _decoded_binaries(value: Any) -> Any:
    """DynamoDB JSON with `B`/`BS` strings turned into bytes (a copy; everything else as it was)."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("B"), str):
            return {"B": base64.b64decode(value["B"])}
        if len(value) == 1 and isinstance(value.get("BS"), list):
            return {"BS": [base64.b64decode(item) if isinstance(item, str) else item for item in value["BS"]]}
        return {key: _decoded_binaries(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decoded_binaries(item) for item in value]
    return value


def install_sfn_dynamodb_binary(patches: Patches) -> None:
    """Seam `sfn_dynamodb_binary`: a `B` value in a DynamoDB task is base64 text, as on the wire.

    Step Functions sends the task's JSON to DynamoDB as it is, so `{"B": "<base64>"}` stores the
    decoded bytes. moto calls boto3 with it, and boto3 takes a str blob as raw bytes and base64-encodes
    it again: the item would hold the base64 text. Decoding first stores what AWS stores.
    """
    owner = state_task_service_dynamodb.StateTaskServiceDynamoDB
    original = owner._eval_service_task

    def _eval_service_task(self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                           *args: Any, **kwargs: Any) -> Any:
        return original(self, env, resource_runtime_part, _decoded_binaries(normalised_parameters), *args, **kwargs)

    patches.replace(owner, "_eval_service_task", _eval_service_task)


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
    """Seams `sfn_retry_sleep` and `sfn_wait_scale`: Retry back-offs and Wait states last `scale`
    times as long (tests, demo, bench), on the runtime's clock like every other duration."""
    patches.replace(retrier_decl, "time", _ScaledTime(scale))

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        # moto waits on the execution's stop event; so does this, for the scaled time.
        deadline = time.monotonic() + wait_seconds * scale
        while env.is_running() and (left := deadline - time.monotonic()) > 0:
            env.program_state_event.wait(left)

    patches.replace(WaitFunction, "_wait_interval", _wait_interval)


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
