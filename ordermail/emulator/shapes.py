"""SDK-integration request shapes, checked as Step Functions checks them (issue 10, item 2).

moto's interpreter sends whatever a Task's `Parameters` resolve to: an unknown member is dropped,
a number where a string belongs is turned into its JSON text, a missing required member reaches the
service (or not). AWS refuses all three, so a definition that runs here could fail on its first
deployed execution. This module checks each request of the integrations our ASL uses
(`aws-sdk:<service>:<action>`, the optimized `dynamodb:*Item` and `lambda:invoke`) against the
botocore input shape of that operation:

- at CreateStateMachine/UpdateStateMachine, the static part of `Parameters` (literal members and the
  names of `.$` members): AWS answers `InvalidDefinition` with
  `SCHEMA_VALIDATION_FAILED: The field "X" is not supported by Step Functions at /States/S/Parameters`.
  The optimized integrations accept only Step Functions' own subset of each API's members (moto
  keeps that list: `_SUPPORTED_API_PARAM_BINDINGS`), e.g. no `ReturnValuesOnConditionCheckFailure`.
- at run time, the resolved request: AWS fails the task before calling the service with
  `States.Runtime`, cause `... The Parameters '...' could not be used to start the Task: [The value
  for the field 'N' must be a STRING]`. States.Runtime is terminal: AWS documents that neither a
  retrier nor a catcher on `States.ALL` matches it (nor `States.DataLimitExceeded`); moto's
  `States.ALL` matches everything, so that is corrected here too. The cause names the fields only:
  AWS echoes the whole request, which would put recipients in the execution's error.

Seams are listed in SEAMS (tests/unit/test_shapes.py checks each exists on the pinned moto).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from moto.core.exceptions import AWSError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
    state_task_service_dynamodb,
    state_task_service_lambda,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

__all__ = ["SEAMS", "Integration", "check_request", "check_template", "definition_errors", "install", "integration_for"]

_TaskService = state_task_service.StateTaskService

# The seams, named once: tests assert each still exists on the pinned moto.
SEAMS: dict[str, tuple[object, str]] = {
    "sfn_definition_validate": (StepFunctionsParserBackend, "_validate_definition"),
    "sfn_task_before_execution": (_TaskService, "_before_eval_execution"),
    "sfn_states_all_match": (error_equals_decl.ErrorEqualsDecl, "_eval_body"),
    # Each integration turns any exception it does not know into its own generic error
    # (e.g. `DynamoDB.AmazonDynamoDBException`); a States.Runtime raised here must stay one.
    "sfn_aws_sdk_from_error": (state_task_service_aws_sdk.StateTaskServiceAwsSdk, "_from_error"),
    "sfn_dynamodb_from_error": (state_task_service_dynamodb.StateTaskServiceDynamoDB, "_from_error"),
    "sfn_lambda_from_error": (state_task_service_lambda.StateTaskServiceLambda, "_from_error"),
    "sfn_dynamodb_supported_parameters": (state_task_service_dynamodb, "_SUPPORTED_API_PARAM_BINDINGS"),
    "sfn_lambda_supported_parameters": (state_task_service_lambda, "_SUPPORTED_API_PARAM_BINDINGS"),
}

# Errors AWS documents as uncatchable by `States.ALL` (concepts-error-handling).
UNCATCHABLE: Final = frozenset({"States.Runtime", "States.DataLimitExceeded"})

# Step Functions' aws-sdk service names that differ from botocore's.
_SDK_SERVICE_TO_BOTOCORE: Final = {"sfn": "stepfunctions"}
# Optimized integrations: Step Functions' name → (botocore service, member subset it accepts).
_OPTIMIZED: Final[dict[str, tuple[str, dict[str, set[str]]]]] = {
    "dynamodb": ("dynamodb", state_task_service_dynamodb._SUPPORTED_API_PARAM_BINDINGS),
    "lambda": ("lambda", state_task_service_lambda._SUPPORTED_API_PARAM_BINDINGS),
}
# Members whose value Step Functions serializes itself (any JSON): lambda:invoke's Payload.
_OPAQUE: Final = {("lambda", "Invoke"): frozenset({"Payload"})}

_JSON_TYPE: Final = {
    "string": "STRING", "character": "STRING", "integer": "INTEGER", "long": "INTEGER",
    "float": "NUMBER", "double": "NUMBER", "boolean": "BOOLEAN", "list": "ARRAY",
    "structure": "OBJECT", "map": "OBJECT",
}


class InvalidDefinition(AWSError):
    """CreateStateMachine's error as AWS sends it; moto's own (parser.api) reaches clients with no code."""

    TYPE = "InvalidDefinition"


@dataclass(frozen=True)
class Integration:
    """What one Task `Resource` calls: the botocore operation and the members Step Functions accepts."""

    resource: str
    operation: OperationModel
    supported: frozenset[str] | None  # None: every member of the input shape (aws-sdk)
    opaque: frozenset[str]


@functools.cache
def _service_model(name: str) -> Any:
    session = botocore.session.get_session()
    if name not in session.get_available_services():
        return None
    return session.get_service_model(name)


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


@functools.lru_cache(maxsize=256)
def integration_for(resource: str) -> Integration | None:
    """The integration a Task's `Resource` ARN names, or None when it is not one we can check
    (a Lambda function ARN, an activity, a service botocore does not model)."""
    match = re.fullmatch(r"arn:[\w-]+:states:[\w-]*:\d*:(aws-sdk:)?([\w-]+):([A-Za-z0-9]+)(\.\w+)?", resource)
    if match is None:
        return None
    sdk, service, action = match.group(1), match.group(2), match.group(3)
    supported: frozenset[str] | None = None
    if sdk:
        model = _service_model(_SDK_SERVICE_TO_BOTOCORE.get(service, service))
    elif service in _OPTIMIZED:
        botocore_name, bindings = _OPTIMIZED[service]
        if action.lower() not in bindings:
            return None
        model = _service_model(botocore_name)
        supported = frozenset(bindings[action.lower()])
    else:
        return None
    if model is None or _pascal(action) not in model.operation_names:
        return None
    operation = model.operation_model(_pascal(action))
    return Integration(resource, operation, supported, _OPAQUE.get((model.service_name, operation.name), frozenset()))


def _members(shape: StructureShape) -> dict[str, str]:
    """ASL field name → botocore member name: Step Functions writes members in PascalCase."""
    return {_pascal(name): name for name in shape.members}


def check_template(
    template: Any, shape: StructureShape, *, supported: frozenset[str] | None = None,
    opaque: frozenset[str] = frozenset(), resolved: bool = False,
) -> list[str]:
    """What is wrong with a Parameters object for `shape`, in Step Functions' words.

    `resolved=False` checks a definition's template: a `name.$` member is present with a value known
    only at run time. `resolved=True` checks the request after the paths were applied."""
    if not isinstance(template, dict):
        return ["The value for the field 'Parameters' must be an OBJECT"]
    return list(_structure(template, shape, supported, opaque, resolved))


def check_request(integration: Integration, parameters: Any) -> list[str]:
    """The resolved request of one Task, checked against its operation's input shape."""
    shape = integration.operation.input_shape
    if shape is None:
        return [] if not parameters else [f"The field '{next(iter(parameters))}' is not supported by Step Functions"]
    return check_template(parameters, shape, supported=integration.supported, opaque=integration.opaque, resolved=True)


def _structure(
    template: dict[str, Any], shape: StructureShape, supported: frozenset[str] | None,
    opaque: frozenset[str], resolved: bool,
) -> Iterator[str]:
    members = _members(shape)
    present: set[str] = set()
    for key, value in template.items():
        dynamic = not resolved and key.endswith(".$")
        field = key[:-2] if dynamic else key
        member = members.get(field)
        if member is None or (supported is not None and member not in supported):
            yield f"The field '{field}' is not supported by Step Functions"
            continue
        present.add(member)
        if not dynamic and member not in opaque:
            yield from _value(value, shape.members[member], field, resolved)
    for required in shape.required_members:
        if required not in present:
            yield f"The field '{_pascal(required)}' is required but was missing"


def _value(value: Any, shape: Shape, field: str, resolved: bool) -> Iterator[str]:
    expected = _JSON_TYPE.get(shape.type_name)
    if expected is not None and not _is(value, expected):
        article = "an" if expected[0] in "AEIOU" else "a"
        yield f"The value for the field '{field}' must be {article} {expected}"
        return
    if isinstance(shape, StructureShape):
        yield from _structure(value, shape, None, frozenset(), resolved)
    elif isinstance(shape, ListShape):
        for item in value:
            yield from _value(item, shape.member, field, resolved)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            if resolved or not key.endswith(".$"):
                yield from _value(item, shape.value, key, resolved)


def _is(value: Any, expected: str) -> bool:
    if expected == "STRING":
        return isinstance(value, str)
    if expected == "INTEGER":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "NUMBER":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "BOOLEAN":
        return isinstance(value, bool)
    if expected == "ARRAY":
        return isinstance(value, list)
    return isinstance(value, dict)


def _task_states(states: Any, location: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task in a definition's `States`, with its location, inside Parallel and Map too."""
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{location}/{name}"
        if state.get("Type") == "Task":
            yield here, state
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                yield from _task_states(branch.get("States"), f"{here}/Branches[{index}]/States")
        for processor in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(processor), dict):
                yield from _task_states(state[processor].get("States"), f"{here}/{processor}/States")


def definition_errors(definition: dict[str, Any]) -> list[str]:
    """SCHEMA_VALIDATION_FAILED diagnostics for the static Parameters of a definition's tasks."""
    errors: list[str] = []
    for location, state in _task_states(definition.get("States"), "/States"):
        resource = state.get("Resource")
        integration = integration_for(resource) if isinstance(resource, str) else None
        shape = integration.operation.input_shape if integration else None
        if integration is None or shape is None or "Parameters" not in state:
            continue
        for problem in check_template(
            state["Parameters"], shape, supported=integration.supported, opaque=integration.opaque
        ):
            errors.append(f"SCHEMA_VALIDATION_FAILED: {problem} at {location}/Parameters")
    return errors


def _runtime_failure(task: Any, env: Any, problems: list[str]) -> FailureEventException:
    # AWS's cause quotes the request too; ours keeps the field names only (no recipients in errors).
    cause = f"The Parameters could not be used to start the Task: [{', '.join(problems)}]"
    error = StatesErrorNameType.StatesRuntime.to_name()
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # moto's TypedDict lists every kind
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error, cause=cause,
                    resource=task._get_sfn_resource(), resourceType=task._get_sfn_resource_type(),
                )
            ),
        )
    )


def install(patches: Any) -> None:
    """Install every seam in SEAMS on `patches` (a seams.Patches)."""
    original_validate = vars(StepFunctionsParserBackend)["_validate_definition"]
    validate_function: Callable[[str], None] = getattr(original_validate, "__func__", original_validate)

    def validate_definition(definition: str) -> None:
        validate_function(definition)  # moto's parse first: a broken document fails as before
        errors = definition_errors(json.loads(definition))
        if errors:
            raise InvalidDefinition(message=f"Invalid State Machine Definition: '{', '.join(errors)}'")

    patches.replace(StepFunctionsParserBackend, "_validate_definition", staticmethod(validate_definition))

    original_before = _TaskService._before_eval_execution

    def before_eval_execution(
        self: Any, env: Any, resource_runtime_part: Any, raw_parameters: Any, state_credentials: Any
    ) -> None:
        integration = integration_for(self.resource.resource_arn)
        if integration is not None:
            problems = check_request(integration, raw_parameters)
            if problems:
                raise _runtime_failure(self, env, problems)
        original_before(self, env, resource_runtime_part, raw_parameters, state_credentials)

    patches.replace(_TaskService, "_before_eval_execution", before_eval_execution)

    for key in ("sfn_aws_sdk_from_error", "sfn_dynamodb_from_error", "sfn_lambda_from_error"):
        owner, attribute = SEAMS[key]
        patches.replace(owner, attribute, _keeping_failure_events(getattr(owner, attribute)))

    original_match = error_equals_decl.ErrorEqualsDecl._eval_body
    states_all = error_equals_decl.ErrorEqualsDecl._STATE_ALL_ERROR

    def eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        if getattr(error_name, "error_name", None) in UNCATCHABLE and states_all in self.error_names:
            env.stack.pop()
            env.stack.append(False)
            return
        original_match(self, env)

    patches.replace(error_equals_decl.ErrorEqualsDecl, "_eval_body", eval_body)


def _keeping_failure_events(original: Callable[..., Any]) -> Callable[..., Any]:
    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, FailureEventException):
            return ex.failure_event
        return original(self, env, ex)

    return from_error
