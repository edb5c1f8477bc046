"""IAM enforcement in the embedded runtime: who makes each AWS call, and whether AWS would allow it.

A principal of the stack is attributed to every call it makes, then the call is evaluated against
the policies synthesized for it (policies.py, evaluate.py) before moto serves it:

- a Lambda function's role while its handler runs in-process (seam `iam_lambda_invoke`; the
  handler's boto3 calls run on the same thread, so a thread-local carries the principal);
- the state machine's role for every Task's integration call: the interpreter signs them with its
  own access key (`ak`, moto's `boto_client_for`), which no one else uses, so the key attributes
  them even when a Task hops threads;
- the Pipe's role (pipe.py: receive/delete as the Pipe, StartSyncExecution evaluated explicitly:
  moto has no such API);
- service principals against resource policies: SNS → SQS and SNS → Lambda delivery (seam
  `iam_sns_delivery`), SES → the events topic (the runtime's SES event publisher);
- callers that assumed a role through the runtime's STS (status API callers, publishers);
- anything else is the account's own credentials (the test harness, the CLI as an operator):
  allowed as the account's administrator would be, except where a resource policy denies it
  explicitly (the orders topic's TLS-only statement).

A denied call fails as on AWS: moto serializes the service's access-denied error with the real
message (`User: arn:aws:sts::…:assumed-role/<role>/<session> is not authorized to perform: …`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.awslambda.models import LambdaFunction
from moto.core.common_types import TYPE_RESPONSE
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.sns.models import Subscription
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (
    StateTaskServiceDynamoDB,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)

from .calls import Check, checks_for, function_arn, queue_arn
from .usage import Usage

# The seams this module patches (tests assert each exists on the pinned moto). Each is installed by
# wrapping whatever is installed already, so the other seams keep working underneath.
SEAMS: dict[str, tuple[object, str]] = {
    "iam_call_action": (BaseResponse, "call_action"),
    "iam_lambda_invoke": (LambdaFunction, "_invoke_lambda"),
    "iam_sns_delivery": (Subscription, "publish"),
    "iam_sfn_dynamodb_error": (StateTaskServiceDynamoDB, "_error_cause_from_client_error"),
    "iam_sfn_lambda_error": (StateTaskServiceLambda, "_error_cause_from_client_error"),
}

ACCOUNT_LABEL = "account"  # the account's own credentials (operators, the test harness)
# The access key moto's Step Functions interpreter signs every Task's call with.
INTERPRETER_ACCESS_KEY = "ak"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class Patcher(Protocol):
    def replace(self, owner: object, attribute: str, value: Any) -> Any: ...


@dataclass(frozen=True)
class Principal:
    """Who makes a call. `arn` is what policies name (a role ARN, or a service such as
    `sns.amazonaws.com`); `caller` is what AWS names in an access-denied message."""

    label: str
    arn: str
    caller: str
    service: bool = False
    context: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def role(label: str, role_arn: str, session: str) -> Principal:
        account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        return Principal(label, role_arn, f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
                         context=(("aws:PrincipalArn", role_arn), ("aws:PrincipalAccount", account)))

    @staticmethod
    def aws_service(label: str, service: str, **context: str) -> Principal:
        return Principal(label, service, service, service=True, context=tuple(sorted(context.items())))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    message: str = ""  # AWS's access-denied message when not allowed


class Evaluator(Protocol):
    """The policy side: policies.py + evaluate.py bound to one synthesized template (binding.py)."""

    def decide(self, principal: Principal, check: Check) -> Verdict: ...

    def grants(self, principal: Principal) -> list[tuple[str, str]]: ...


@dataclass
class StackPrincipals:
    """The stack's principals in this runtime, from the synthesized template."""

    functions: dict[str, Principal]  # function name → its role
    state_machine: Principal
    pipe: Principal
    ses_events: Principal  # SES publishing configuration-set events to the events topic
    encrypted: dict[str, str] = field(default_factory=dict)  # queue/topic ARN → its KMS key ARN
    status_events: Principal | None = None  # the status events' Pipes (one role), when synthesized

    def all(self) -> list[Principal]:
        extra = [self.status_events] if self.status_events else []
        return [*self.functions.values(), self.state_machine, self.pipe, self.ses_events, *extra]


_current = threading.local()


def current() -> Principal | None:
    return getattr(_current, "principal", None)


@contextlib.contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Calls made on this thread inside the block are `principal`'s."""
    previous = getattr(_current, "principal", None)
    _current.principal = principal
    try:
        yield
    finally:
        _current.principal = previous


class AccessDenied(ServiceException):
    """moto serializes it in the service's protocol (code, HTTP status, query-compatible header)."""


# The error code and HTTP status each service answers a denied call with.
_DENIAL = {
    "sns": ("AuthorizationError", 403),
    "sqs": ("AccessDenied", 403),  # JSON protocol: `x-amzn-query-error: AccessDenied;Sender`
}
_DEFAULT_DENIAL = ("AccessDeniedException", 400)
_DENIAL_STATUS = {"awslambda": 403, "sesv2": 403, "sns": 403, "sqs": 403}


class Enforcer:
    def __init__(self, evaluator: Evaluator, principals: StackPrincipals, *, region: str, account: str,
                 endpoint_netlocs: frozenset[str] = frozenset()) -> None:
        self.evaluator = evaluator
        self.principals = principals
        self.region = region
        self.account_id = account
        self.usage = Usage()
        self._endpoint_netlocs = endpoint_netlocs
        self._cache: dict[tuple[Principal, Check], Verdict] = {}
        self._assumed: dict[str, Principal] = {}
        # The status API's methods: (HTTP method, resource path) → authorization type, and its id.
        self.api_methods: dict[tuple[str, str], str] = {}
        self.rest_api_id = "local"
        self.orders_api_id = "local"
        self.orders_api_role: Principal | None = None
        root = f"arn:aws:iam::{account}:root"
        self.account = Principal(ACCOUNT_LABEL, root, root, context=(("aws:PrincipalAccount", account),))

    # --- decisions ----------------------------------------------------------------------------

    def decide(self, principal: Principal, check: Check) -> Verdict:
        key = (principal, check)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self.evaluator.decide(principal, check)
            self._cache[key] = verdict  # a dict store is atomic; a racing duplicate evaluation is harmless
        self.usage.record(principal, check, verdict.allowed)
        return verdict

    def first_denial(self, principal: Principal, checks: list[Check]) -> Verdict | None:
        for check in checks:
            verdict = self.decide(principal, check)
            if not verdict.allowed:
                return verdict
        return None

    # --- attribution --------------------------------------------------------------------------

    def principal_of(self, response: BaseResponse) -> Principal | None:
        key = access_key_of(response.headers)
        if key == INTERPRETER_ACCESS_KEY:
            return self.principals.state_machine
        principal = current()
        if principal is not None:
            return principal
        return self.assumed_role(key) if key else None

    def assumed_role(self, access_key: str) -> Principal | None:
        """A caller that assumed a role through the runtime's STS is that role's session."""
        if access_key in self._assumed:
            return self._assumed[access_key]
        from moto.sts.models import sts_backends

        for backend in _all_backends(sts_backends):
            for role in getattr(backend, "assumed_roles", []):
                if role.access_key_id == access_key:
                    principal = Principal(f"assumed:{role.role_arn}", role.role_arn, role.arn,
                                          context=(("aws:PrincipalArn", role.role_arn),))
                    self._assumed[access_key] = principal
                    return principal
        return None

    def secure_transport(self, response: BaseResponse) -> bool:
        """aws:SecureTransport. In-process calls are https (botocore addressed AWS's TLS endpoint;
        moto intercepts them before the socket). The runtime's loopback endpoint stands in for
        AWS's TLS endpoints, so calls to it count as TLS too; any other plain-http URL (a client
        told to use http) does not, and is refused where a policy requires TLS."""
        parsed = getattr(response, "parsed_url", None)
        if parsed is None:
            return True
        return parsed.scheme == "https" or parsed.netloc in self._endpoint_netlocs

    def checks(self, response: BaseResponse, principal: Principal | None) -> list[Check]:
        checks = checks_for(response, region=self.region, account=self.account_id)
        secure = ("aws:SecureTransport", "true" if self.secure_transport(response) else "false")
        checks = [Check(c.action, c.resource, (*c.context, secure)) for c in checks]
        return checks + self._implied_kms(checks, principal)

    def _implied_kms(self, checks: list[Check], principal: Principal | None) -> list[Check]:
        """Sending to or receiving from a KMS-encrypted queue or topic needs the key as well."""
        implied = []
        for check in checks:
            key = self.principals.encrypted.get(check.resource)
            if key is None:
                continue
            service = check.action.split(":")[0]
            via = ("kms:ViaService", f"{service}.{self.region}.amazonaws.com")
            if check.action in ("sqs:SendMessage", "sns:Publish"):
                implied.append(Check("kms:GenerateDataKey", key, (via,)))
            if check.action == "sqs:ReceiveMessage":
                implied.append(Check("kms:Decrypt", key, (via,)))
        return implied

    def denied_response(self, response: BaseResponse, verdict: Verdict) -> TYPE_RESPONSE:
        service = str(getattr(response, "service_name", ""))
        code, status = _DENIAL.get(service, _DEFAULT_DENIAL)
        status, headers, body = response.serialized(ActionResult(AccessDenied(code, verdict.message)))
        status = _DENIAL_STATUS.get(service, status)
        if service == "sqs":  # how botocore reads the code of a query-compatible JSON service
            headers["x-amzn-query-error"] = f"{code};Sender"
        headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))  # AWS sends one with every error
        headers["status"] = status
        return status, headers, body

    def report(self) -> dict[str, Any]:
        """Per stack principal: each grant with its use count, and the calls denied (usage.py)."""
        from .usage import report

        return report(((p.label, self.evaluator.grants(p)) for p in self.principals.all()), self.usage)

    # --- service-to-service deliveries -------------------------------------------------------

    def sns_delivery_allowed(self, subscription: Any) -> bool:
        topic = subscription.topic.arn
        sns = Principal.aws_service("sns.amazonaws.com", "sns.amazonaws.com", **{
            "aws:SourceArn": topic, "aws:SourceAccount": self.account_id})
        if subscription.protocol == "sqs":
            target = queue_arn(subscription.endpoint, self.region, self.account_id)
            checks = [Check("sqs:SendMessage", target, sns.context)]
            checks += self._implied_kms(checks, sns)
        elif subscription.protocol == "lambda":
            checks = [Check("lambda:InvokeFunction", function_arn(subscription.endpoint, self.region, self.account_id),
                            sns.context)]
        else:
            return True
        return self.first_denial(sns, checks) is None


def access_key_of(headers: Any) -> str | None:
    authorization = headers.get("Authorization") or headers.get("authorization") if headers else None
    if not authorization:
        return None
    match = _CREDENTIAL.search(str(authorization))
    return match.group(1) if match else None


def _all_backends(backends: Any) -> Iterator[Any]:
    for regions in backends.values():
        yield from regions.values()


def install(patches: Patcher, enforcer: Enforcer, *,
            on_denied_delivery: Callable[[Any], None] | None = None) -> Enforcer:
    """Install the seams, wrapping what is installed already (call it after every other seam: wiring.py)."""
    # AccessDeniedException is a common AWS error, in no service's model: moto warns on each one.
    warnings.filterwarnings("ignore", message=r"Exception\(AccessDenied\) with code")
    call_action = BaseResponse.call_action

    def enforced_call_action(self: BaseResponse) -> TYPE_RESPONSE:
        # No stack principal: the account's own credentials. No identity policy limits them, but a
        # resource policy's explicit deny does (the orders topic refuses plain http to everyone).
        principal = enforcer.principal_of(self) or enforcer.account
        verdict = enforcer.first_denial(principal, enforcer.checks(self, principal))
        if verdict is not None:
            return enforcer.denied_response(self, verdict)
        return call_action(self)

    patches.replace(BaseResponse, "call_action", enforced_call_action)

    invoke = LambdaFunction._invoke_lambda

    def enforced_invoke(self: LambdaFunction, event: Any = None) -> Any:
        with acting_as(enforcer.principals.functions.get(self.function_name)):
            return invoke(self, event=event)

    patches.replace(LambdaFunction, "_invoke_lambda", enforced_invoke)

    deliver = Subscription.publish

    def enforced_delivery(self: Subscription, *args: Any, **kwargs: Any) -> Any:
        if not enforcer.sns_delivery_allowed(self):
            # SNS drops a delivery its target's policy refuses (after its retries; the
            # subscription has no DLQ for an authorization failure on AWS either).
            if on_denied_delivery is not None:
                on_denied_delivery(self)
            return None
        return deliver(self, *args, **kwargs)

    patches.replace(Subscription, "publish", enforced_delivery)

    for owner in (StateTaskServiceDynamoDB, StateTaskServiceLambda):
        original = owner.__dict__["_error_cause_from_client_error"].__func__
        patches.replace(owner, "_error_cause_from_client_error", staticmethod(_sdk_v1_error_names(original)))
    return enforcer


# An error code the service's (Java SDK v1) model does not define reaches Step Functions as the
# SDK's generic exception: a denied dynamodb:UpdateItem is `DynamoDB.AmazonDynamoDBException`, a
# denied lambda:InvokeFunction `Lambda.AWSLambdaException`; the cause keeps the real error code.
_GENERIC = {"DynamoDB.AccessDeniedException": "DynamoDB.AmazonDynamoDBException",
            "Lambda.AccessDeniedException": "Lambda.AWSLambdaException"}


def _sdk_v1_error_names(original: Callable[[Any], tuple[str, str]]) -> Callable[[Any], tuple[str, str]]:
    def error_cause(client_error: Any) -> tuple[str, str]:
        error, cause = original(client_error)
        return _GENERIC.get(error, error), cause

    return error_cause


def install_for_runtime(patches: Patcher, *, env: str, region: str, account: str, endpoint_netlocs: Iterable[str],
                        template: Any = None) -> Enforcer:
    """Enforcement for one runtime from the synthesized template (binding.py)."""
    from .binding import enforcer_for

    return install(patches, enforcer_for(env=env, region=region, account=account, endpoint_netlocs=endpoint_netlocs,
                                         template=template))
