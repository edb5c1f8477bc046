"""Every `ErrorEquals` name in asl/ is one that can actually be raised at that state.

A retrier or catcher naming an error nobody raises is silent dead code: `Send` once retried
`SesV2.InternalFailureException` and `SesV2.ServiceUnavailableException`, which the SESv2 model does
not have. The names come from Step Functions' rules (supported-services-awssdk, concepts-error-handling):

- aws-sdk integrations: `<ServiceName>.<ErrorShape>` with `Exception` appended when the shape lacks
  it (`MessageRejected` → `SesV2.MessageRejectedException`), plus `<ServiceName>.<ServiceName>Exception`,
  the SDK's base class that an error the model does not list (a 500, a 503) surfaces as;
- optimized `dynamodb:*`: `DynamoDB.<error code>` (moto names it so), the suffixed spelling, and the
  generic `DynamoDB.AmazonDynamoDBException`;
- optimized `lambda:invoke`: `Lambda.<ErrorShape>`, the SDK-level names AWS's recommended Lambda
  retrier lists, and the function's own errors (the `errorType`: the class name our handler raises);
- `States.*`: the reserved names, except the two `States.ALL` cannot match and no catcher can.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.unit.helpers import pipe_event

ASL_DIR = Path(__file__).resolve().parents[2] / "asl"

# Step Functions' PascalCase service names in error names (AWS docs; moto + the runtime seams agree, see
# tests/integration/test_workflow.py's SesV2.* assertions).
SDK_ERROR_PREFIX = {"sesv2": "SesV2", "dynamodb": "DynamoDb", "sfn": "Sfn", "s3": "S3"}

# The reserved names of the States language and Step Functions' additions.
STATES_ERRORS = {
    "States.ALL", "States.HeartbeatTimeout", "States.Timeout", "States.TaskFailed", "States.Permissions",
    "States.ResultPathMatchFailure", "States.ParameterPathFailure", "States.QueryEvaluationError",
    "States.BranchFailed", "States.NoChoiceMatched", "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold", "States.ItemReaderFailed", "States.ResultWriterFailed",
    "States.Http.Socket",
}
# Terminal: AWS documents that no retrier or catcher matches these, States.ALL included.
UNCATCHABLE = {"States.Runtime", "States.DataLimitExceeded"}

# Lambda.* names that come from the Step Functions/SDK side, not the Lambda model: the names of
# AWS's recommended Lambda retrier (sfn-best-practices, bp-lambda-serviceexception).
LAMBDA_SDK_ERRORS = {"Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"}


def _with_suffix(name: str) -> str:
    return name if name.endswith("Exception") else f"{name}Exception"


def _error_shapes(service: str) -> list[str]:
    return [shape.name for shape in botocore.session.get_session().get_service_model(service).error_shapes]


def _raise_invalid_order() -> None:
    from tasks.validate import handler

    from .helpers import FakeLambdaContext

    handler(pipe_event("this is not JSON"), FakeLambdaContext())


def _raise_render_error() -> None:
    from tasks.render import handler

    from .helpers import FakeLambdaContext

    handler({}, FakeLambdaContext())


# The function behind each FunctionName placeholder, and how to make it throw each error it may.
FUNCTION_ERRORS = {
    "${ValidateFunctionArn}": {"InvalidOrder": _raise_invalid_order},
    "${RenderFunctionArn}": {"RenderError": _raise_render_error},
}


def _tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _tasks(state[key]["States"])


def _error_equals() -> list[tuple[str, str, str, dict[str, Any]]]:
    found = []
    for path in sorted(ASL_DIR.glob("*.asl.json")):
        for name, state in _tasks(json.loads(path.read_text(encoding="utf-8"))["States"]):
            for handler in state.get("Retry", []) + state.get("Catch", []):
                for error in handler["ErrorEquals"]:
                    found.append((f"{path.name}:{name}", error, state.get("Resource", ""), state))
    return found


def raisable(resource: str, state: dict[str, Any]) -> set[str]:
    """Every error name a Task with this Resource can report."""
    names = set(STATES_ERRORS)
    sdk = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9-]+):\w+(\.\w+)?", resource)
    if sdk:
        prefix = SDK_ERROR_PREFIX[sdk.group(1)]
        botocore_name = {"sfn": "stepfunctions"}.get(sdk.group(1), sdk.group(1))
        names |= {f"{prefix}.{_with_suffix(shape)}" for shape in _error_shapes(botocore_name)}
        names.add(f"{prefix}.{prefix}Exception")
    elif re.fullmatch(r"arn:aws:states:::dynamodb:\w+", resource):
        for shape in _error_shapes("dynamodb"):
            names |= {f"DynamoDB.{shape}", f"DynamoDB.{_with_suffix(shape)}"}
        names.add("DynamoDB.AmazonDynamoDBException")
    elif resource == "arn:aws:states:::sqs:sendMessage":
        # The optimized SQS integration reports the SDK's two classes only (Step Functions' Java SDK;
        # moto's parser, from LocalStack's: state_task_service_sqs names them the same).
        names |= {"SQS.AmazonSQSException", "SQS.SdkClientException"}
    elif re.fullmatch(r"arn:aws:states:::lambda:invoke(\.waitForTaskToken)?", resource):
        names |= {f"Lambda.{shape}" for shape in _error_shapes("lambda")} | LAMBDA_SDK_ERRORS
        names |= set(FUNCTION_ERRORS.get(state["Parameters"]["FunctionName"], {}))
    return names


ERROR_EQUALS = _error_equals()


def test_the_asl_has_error_equals_to_check() -> None:
    assert len(ERROR_EQUALS) > 20
    assert {resource for _, _, resource, _ in ERROR_EQUALS} >= {
        "arn:aws:states:::aws-sdk:sesv2:sendEmail", "arn:aws:states:::dynamodb:updateItem", "arn:aws:states:::lambda:invoke",
    }


@pytest.mark.parametrize(("where", "error", "resource", "state"), ERROR_EQUALS, ids=[f"{w}:{e}" for w, e, _, _ in ERROR_EQUALS])
def test_each_error_equals_name_can_be_raised(where: str, error: str, resource: str, state: dict[str, Any]) -> None:
    assert error not in UNCATCHABLE, f"{where}: {error} is terminal on AWS; no retrier or catcher ever sees it"
    assert error in raisable(resource, state), f"{where}: nothing raises {error!r} at a {resource} task"


@pytest.mark.parametrize(
    ("function", "error"), [(f, e) for f, errors in FUNCTION_ERRORS.items() for e in errors]
)
def test_function_errors_are_what_the_handlers_raise(function: str, error: str) -> None:
    with pytest.raises(Exception) as raised:
        FUNCTION_ERRORS[function][error]()
    # The Lambda runtime reports the exception's class name as errorType, the name Step Functions matches.
    assert type(raised.value).__name__ == error


def test_every_function_the_asl_invokes_is_listed() -> None:
    invoked = {
        state["Parameters"]["FunctionName"] for _, _, resource, state in ERROR_EQUALS if resource.endswith(":lambda:invoke")
    }
    assert invoked == set(FUNCTION_ERRORS)


def test_the_rules_reject_names_no_model_has() -> None:
    send = {"Parameters": {}}
    ses = raisable("arn:aws:states:::aws-sdk:sesv2:sendEmail", send)
    assert "SesV2.MessageRejectedException" in ses and "SesV2.TooManyRequestsException" in ses
    assert "SesV2.InternalFailureException" not in ses and "SesV2.ServiceUnavailableException" not in ses
    assert "SesV2.MessageRejected" not in ses  # the suffix is always added on aws-sdk integrations
    assert "DynamoDb.ConditionalCheckFailedException" not in raisable("arn:aws:states:::dynamodb:updateItem", send)
    lam = raisable("arn:aws:states:::lambda:invoke", {"Parameters": {"FunctionName": "${RenderFunctionArn}"}})
    assert "RenderError" in lam and "InvalidOrder" not in lam


def test_send_retries_what_sesv2_raises_for_transient_failures() -> None:
    send = json.loads((ASL_DIR / "order_email.asl.json").read_text(encoding="utf-8"))["States"]["Send"]
    retried = {error for retrier in send["Retry"] for error in retrier["ErrorEquals"]}
    caught_permanent = set(send["Catch"][0]["ErrorEquals"])
    # Throttling (429), the model's 500 and the SDK's base class for unmodeled 5xx answers.
    assert retried == {"SesV2.TooManyRequestsException", "SesV2.InternalServiceErrorException", "SesV2.SesV2Exception"}
    # The daily quota is not a transient failure within one execution.
    assert "SesV2.LimitExceededException" in caught_permanent and "SesV2.LimitExceededException" not in retried
    assert "States.Timeout" not in retried  # SES may have accepted the mail: see Send's Comment
