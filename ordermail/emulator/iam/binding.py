"""Binds enforcement to one synthesized template: the stack's principals with their local ARNs, and
an `Evaluator` over the template's identity and resource policies (policies.py, evaluate.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from tasks import names

from .calls import Check
from .enforce import Enforcer, Principal, StackPrincipals, Verdict
from .evaluate import Request, access_denied_message, evaluate
from .policies import stack_policies
from .resolve import Resolver
from .template import load_template, synthesized_template

ADMIN_POLICY: dict[str, Any] = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class TemplateEvaluator:
    """`Evaluator` over one template's policies: `identity_policies(role_arn)` and
    `resource_policy(arn)` (policies.py), decided by evaluate.py."""

    def __init__(self, identity_policies: Callable[[str], list[dict[str, Any]]],
                 resource_policy: Callable[[str], dict[str, Any] | None], *, account: str) -> None:
        self._identity = identity_policies
        self._resource = resource_policy
        self._root = f"arn:aws:iam::{account}:root"

    def _identity_of(self, principal: Principal) -> list[dict[str, Any]]:
        if principal.service:
            return []  # a service principal has no identity policy: the resource policy must allow it
        if principal.arn == self._root:
            return [ADMIN_POLICY]  # the account's own credentials
        policies = self._identity(principal.arn)
        return policies if policies else _moto_role_policies(principal.arn)

    def decide(self, principal: Principal, check: Check) -> Verdict:
        request = Request(principal.caller, check.action, check.resource, {**dict(principal.context), **dict(check.context)})
        resource_policy = self._resource(check.resource) or _moto_queue_policy(check.resource)
        decision = evaluate(request, self._identity_of(principal), resource_policy)
        return Verdict(True) if decision.allowed else Verdict(False, access_denied_message(request, decision))

    def grants(self, principal: Principal) -> list[tuple[str, str]]:
        rows = []
        for document in self._identity_of(principal):
            for statement in _as_list(document.get("Statement", [])):
                if statement.get("Effect") == "Allow":
                    rows += [(a, r) for a in _as_list(statement.get("Action", [])) for r in _as_list(statement.get("Resource", "*"))]
        return rows


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _moto_role_policies(role_arn: str) -> list[dict[str, Any]]:
    """A role created in the runtime's own IAM (an operator's role in a test): its inline and attached policies."""
    from moto.iam.models import iam_backends

    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    backend = iam_backends[account]["aws"]  # IAM is global: moto keys its backend by partition
    role = next((r for r in backend.roles.values() if r.name == name), None)
    if role is None:
        return []
    documents = [json.loads(unquote(document)) if isinstance(document, str) else document
                 for document in role.policies.values()]
    for policy in role.managed_policies.values():
        documents += [json.loads(unquote(str(v.document))) for v in policy.versions if v.is_default_version]
    return documents


def _moto_queue_policy(arn: str) -> dict[str, Any] | None:
    """A queue the stack does not have (a user's status events target): its policy in the runtime's SQS."""
    if not arn.startswith("arn:aws:sqs:"):
        return None
    from moto.sqs.models import sqs_backends

    region, account, name = arn.split(":")[3:6]
    queue = sqs_backends[account][region].queues.get(name)
    policy = getattr(queue, "policy", None) if queue is not None else None
    return json.loads(policy) if isinstance(policy, str) and policy else None


def stack_principals(policies: Any, resolver: Any, *, region: str, account: str, session: str) -> StackPrincipals:
    """The stack's principals with their local role ARNs (policies.py, resolve.py)."""
    by_kind: dict[str, list[Any]] = {}
    for principal in policies.principals.values():
        by_kind.setdefault(principal.kind, []).append(principal)
    functions = {p.key: Principal.role(f"function:{p.key}", p.role_arn, p.key) for p in by_kind.get("lambda", [])}
    (state_machine,) = by_kind["state_machine"]
    # The orders Pipe ends in "-orders-pipe"; the status events' Pipes (opt-in) share a role of their own.
    (pipe,) = [p for p in by_kind["pipe"] if p.key.endswith("-orders-pipe")]
    status_pipes = [p for p in by_kind["pipe"] if p is not pipe]
    resources: dict[str, dict[str, Any]] = resolver.resources

    def of_type(kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(lg, r.get("Properties", {})) for lg, r in resources.items() if r.get("Type") == kind]

    config_sets = [resolver.name(lg) for lg, _ in of_type("AWS::SES::ConfigurationSet")]
    ses_source = {"aws:SourceAccount": account}
    if config_sets:
        ses_source["aws:SourceArn"] = f"arn:aws:ses:{region}:{account}:configuration-set/{config_sets[0]}"
    encrypted = {}
    for kind, arn_of in (("AWS::SQS::Queue", lambda lg: resolver.get_att(lg, "Arn")),
                         ("AWS::SNS::Topic", lambda lg: resolver.ref(lg))):
        for logical, props in of_type(kind):
            key = props.get("KmsMasterKeyId")
            if key is None:
                continue
            key = str(resolver.resolve(key, logical))
            if key.startswith("alias/aws/"):
                continue  # an AWS-managed key allows the service it belongs to
            encrypted[arn_of(logical)] = key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}"
    return StackPrincipals(
        functions=functions,
        state_machine=Principal.role("state-machine", state_machine.role_arn, session),
        pipe=Principal.role("pipe", pipe.role_arn, session),
        status_events=Principal.role("status-events", status_pipes[0].role_arn, session) if status_pipes else None,
        ses_events=Principal.aws_service("ses.amazonaws.com", "ses.amazonaws.com", **ses_source),
        encrypted=encrypted,
    )


def enforcer_for(*, env: str, region: str, account: str, endpoint_netlocs: Iterable[str],
                 template: Any = None) -> Enforcer:
    """An Enforcer from the synthesized template (cached by content: a warm start does not
    synthesize) or from `template` (a path or dict: a mutation test's edited copy)."""

    loaded = load_template(template) if template is not None else synthesized_template(env)
    policies = stack_policies(loaded, env, account=account, region=region)
    resolver = Resolver(loaded, names.stack_name(env), account=account, region=region)
    principals = stack_principals(policies, resolver, region=region, account=account, session=uuid.uuid4().hex)
    evaluator = TemplateEvaluator(policies.identity_policies, policies.resource_policy, account=account)
    enforcer = Enforcer(evaluator, principals, region=region, account=account,
                        endpoint_netlocs=frozenset(endpoint_netlocs))
    enforcer.api_methods = {(m.http_method, m.path): m.authorization_type for m in policies.api_methods}
    ids = {(m.http_method, m.path): m.rest_api_id for m in policies.api_methods}
    enforcer.rest_api_id = ids.get(("GET", "/orders"), "local")  # the status API's
    enforcer.orders_api_id = ids.get(("POST", "/"), "local")
    integration = [p for p in policies.principals.values() if p.kind == "api_integration"]
    # The orders API's integration role, as API Gateway assumes it to call sns:Publish.
    enforcer.orders_api_role = (
        Principal.role("orders-api", integration[0].role_arn, "orders-api") if integration else None
    )
    return enforcer
