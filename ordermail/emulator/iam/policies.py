"""The stack's policies, read from a synthesized template and resolved to the runtime's ARNs.

`stack_policies(template, env)` returns a `StackPolicies`: one `Principal` per IAM role (its identity
policies, its ARN, the assumed-role ARN AWS shows in errors), the resource policies by resource ARN
(topic, queue and KMS key policies, Lambda permissions), and the authorization type of each API
Gateway method. Every document is compiled by the evaluator here, so an unsupported condition
operator fails when the runtime starts, not on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ordermail.emulator.iam.evaluate import compile_policy
from ordermail.emulator.iam.resolve import ACCOUNT_ID, PARTITION, REGION, ResolveError, Resolver
from ordermail.emulator.iam.template import load_template, synthesized_template
from tasks import names

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True)
class Principal:
    key: str  # function name, state machine name, pipe name, "apigateway-account", else the role's logical id
    kind: str  # "lambda", "state_machine", "pipe", "apigateway", "other"
    logical_id: str
    role_name: str
    role_arn: str
    trusted_services: tuple[str, ...]
    identity_policies: tuple[
        dict[str, Any], ...
    ]  # resolved documents: inline Policies, then AWS::IAM::Policy
    policy_sources: tuple[str, ...]  # where each document came from (logical id or inline policy name)
    managed_policy_arns: tuple[str, ...]
    # AWS managed policies are not in the template: they cannot be evaluated offline, only reported.
    aws_managed_policy_arns: tuple[str, ...]

    def session_arn(self, session: str | None = None) -> str:
        """The caller ARN AWS reports for this role (`assumed-role/<role>/<session>`)."""
        account = self.role_arn.split(":")[4]
        return f"arn:{PARTITION}:sts::{account}:assumed-role/{self.role_name}/{session or self.key}"


@dataclass(frozen=True)
class ApiMethod:
    rest_api_id: str
    http_method: str
    path: str  # "/orders/{orderId}"
    authorization_type: str  # "AWS_IAM", "NONE", ...


@dataclass
class StackPolicies:
    env: str
    principals: dict[str, Principal]
    resource_policies: dict[str, dict[str, Any]]  # resource ARN -> one policy document
    resource_policy_sources: dict[str, tuple[str, ...]]
    api_methods: list[ApiMethod]
    physical_arns: dict[str, str] = field(default_factory=dict)  # logical id -> ARN, where the type has one
    _by_role: dict[str, Principal] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_role = {p.role_name: p for p in self.principals.values()}

    def principal_for_arn(self, arn: str) -> Principal | None:
        """The principal of a role ARN or of any session of it."""
        if ":assumed-role/" in arn:
            return self._by_role.get(arn.split(":assumed-role/", 1)[1].split("/", 1)[0])
        if ":role/" in arn:
            return self._by_role.get(arn.rsplit("/", 1)[-1])
        return None

    def identity_policies(self, principal_arn: str) -> list[dict[str, Any]]:
        principal = self.principal_for_arn(principal_arn)
        return list(principal.identity_policies) if principal else []

    def resource_policy(self, resource_arn: str) -> dict[str, Any] | None:
        return self.resource_policies.get(resource_arn)

    def unevaluable(self) -> dict[str, tuple[str, ...]]:
        """Roles with AWS managed policies: what the runtime cannot decide for them."""
        return {
            p.key: p.aws_managed_policy_arns for p in self.principals.values() if p.aws_managed_policy_arns
        }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ref_target(value: Any) -> str | None:
    """The logical id a `Ref`/`Fn::GetAtt` points at, if the value is one."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            return str(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
    return None


def _role_users(resources: dict[str, dict[str, Any]], resolver: Resolver) -> dict[str, tuple[str, str]]:
    """Role logical id -> (principal key, kind), from the resources that name the role."""
    users: dict[str, tuple[str, str]] = {}
    for logical, resource in resources.items():
        props, kind = resource.get("Properties", {}), resource["Type"]
        if kind == "AWS::Lambda::Function" and (role := _ref_target(props.get("Role"))):
            users[role] = (resolver.name(logical), "lambda")
        elif kind == "AWS::StepFunctions::StateMachine" and (role := _ref_target(props.get("RoleArn"))):
            users[role] = (resolver.name(logical), "state_machine")
        elif kind == "AWS::Pipes::Pipe" and (role := _ref_target(props.get("RoleArn"))):
            users[role] = (resolver.name(logical), "pipe")
        elif kind == "AWS::ApiGateway::Method" and (
            role := _ref_target(props.get("Integration", {}).get("Credentials"))
        ):  # an AWS service integration's role (the orders API's sns:Publish)
            users[role] = (f"api-integration:{props['HttpMethod']}", "api_integration")
        elif kind == "AWS::ApiGateway::Account" and (role := _ref_target(props.get("CloudWatchRoleArn"))):
            users[role] = ("apigateway-account", "apigateway")
    return users


def _document(resolver: Resolver, document: Any, where: str) -> dict[str, Any]:
    resolved: dict[str, Any] = resolver.resolve(document, where)
    compile_policy(resolved)  # fail at load on what the evaluator cannot decide
    return resolved


def _principals(resources: dict[str, dict[str, Any]], resolver: Resolver) -> dict[str, Principal]:
    attached: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for logical, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Policy":
            props = resource["Properties"]
            document = _document(resolver, props["PolicyDocument"], logical)
            for role in _as_list(props.get("Roles", [])):
                target = _ref_target(role)
                if target is None:
                    raise ResolveError(f"{logical}: Roles entry {role!r} is not a Ref to a role of the stack")
                attached.setdefault(target, []).append((logical, document))
    users = _role_users(resources, resolver)
    principals: dict[str, Principal] = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource.get("Properties", {})
        sources, documents = [], []
        for inline in props.get("Policies", []):
            sources.append(f"{logical}/{inline['PolicyName']}")
            documents.append(_document(resolver, inline["PolicyDocument"], logical))
        for source, document in attached.get(logical, []):
            sources.append(source)
            documents.append(document)
        managed = tuple(str(resolver.resolve(arn, logical)) for arn in props.get("ManagedPolicyArns", []))
        trust = resolver.resolve(props.get("AssumeRolePolicyDocument", {}), logical)
        services = tuple(
            service
            for statement in _as_list(trust.get("Statement", []))
            if isinstance(statement.get("Principal"), dict)
            for service in _as_list(statement["Principal"].get("Service", []))
        )
        key, kind = users.get(logical, (logical, "other"))
        principals[key] = Principal(
            key=key,
            kind=kind,
            logical_id=logical,
            role_name=resolver.name(logical),
            role_arn=resolver.get_att(logical, "Arn"),
            trusted_services=services,
            identity_policies=tuple(documents),
            policy_sources=tuple(sources),
            managed_policy_arns=managed,
            aws_managed_policy_arns=tuple(a for a in managed if a.startswith(AWS_MANAGED_PREFIX)),
        )
    return principals


def _queue_arn(resolver: Resolver, queue: Any, where: str) -> str:
    target = _ref_target(queue)
    if target is not None and target in resolver.resources:
        return resolver.get_att(target, "Arn")
    url = str(resolver.resolve(queue, where))  # a literal queue URL: .../<account>/<name>
    account, name = url.rstrip("/").rsplit("/", 2)[-2:]
    return f"arn:{resolver.partition}:sqs:{resolver.region}:{account}:{name}"


def _permission_statement(
    resolver: Resolver, logical: str, props: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """An AWS::Lambda::Permission as the statement Lambda adds to the function's resource policy."""
    resolved = resolver.resolve(props, logical)
    function = str(resolved["FunctionName"])
    if not function.startswith("arn:"):
        function = resolver._arn("lambda", f"function:{function}")
    grantee = str(resolved["Principal"])
    if grantee == "*":
        principal: Any = "*"
    elif grantee.endswith(".amazonaws.com") or grantee.endswith(".amazonaws.com.cn"):
        principal = {"Service": grantee}
    else:
        principal = {
            "AWS": grantee if grantee.startswith("arn:") else f"arn:{resolver.partition}:iam::{grantee}:root"
        }
    statement: dict[str, Any] = {
        "Sid": logical,
        "Effect": "Allow",
        "Principal": principal,
        "Action": resolved["Action"],
        "Resource": function,
    }
    condition: dict[str, dict[str, str]] = {}
    if "SourceArn" in resolved:
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = str(resolved["SourceArn"])
    if "SourceAccount" in resolved:
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = str(resolved["SourceAccount"])
    if "PrincipalOrgID" in resolved:
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = str(resolved["PrincipalOrgID"])
    if condition:
        statement["Condition"] = condition
    return function, statement


def _resource_policies(
    resources: dict[str, dict[str, Any]], resolver: Resolver
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, ...]]]:
    statements: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, list[str]] = {}

    def add(arn: str, source: str, document_statements: Any) -> None:
        statements.setdefault(arn, []).extend(_as_list(document_statements))
        sources.setdefault(arn, []).append(source)

    for logical, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::SNS::TopicPolicy":
            document = resolver.resolve(props["PolicyDocument"], logical)
            for topic in _as_list(props["Topics"]):
                add(str(resolver.resolve(topic, logical)), logical, document.get("Statement", []))
        elif kind == "AWS::SQS::QueuePolicy":
            document = resolver.resolve(props["PolicyDocument"], logical)
            for queue in _as_list(props["Queues"]):
                add(_queue_arn(resolver, queue, logical), logical, document.get("Statement", []))
        elif kind == "AWS::KMS::Key" and "KeyPolicy" in props:
            document = resolver.resolve(props["KeyPolicy"], logical)
            add(resolver.get_att(logical, "Arn"), logical, document.get("Statement", []))
        elif kind == "AWS::Lambda::Permission":
            function, statement = _permission_statement(resolver, logical, props)
            add(function, logical, [statement])
    documents = {}
    for arn, found in statements.items():
        documents[arn] = {"Version": "2012-10-17", "Statement": found}
        compile_policy(documents[arn])
    return documents, {arn: tuple(found) for arn, found in sources.items()}


def _api_methods(resources: dict[str, dict[str, Any]], resolver: Resolver) -> list[ApiMethod]:
    def path_of(reference: Any) -> str:
        target = _ref_target(reference)
        if target is None or target not in resources:
            raise ResolveError(f"API Gateway resource reference {reference!r} is not a resource of the stack")
        if resources[target]["Type"] == "AWS::ApiGateway::RestApi":
            return ""  # GetAtt RootResourceId: the root "/"
        props = resources[target]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    methods = []
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        props = resource["Properties"]
        methods.append(
            ApiMethod(
                rest_api_id=str(resolver.resolve(props["RestApiId"], logical)),
                http_method=str(props["HttpMethod"]),
                path=path_of(props["ResourceId"]) or "/",
                authorization_type=str(props.get("AuthorizationType", "NONE")),
            )
        )
    return methods


def stack_policies(
    template: dict[str, Any], env: str = "dev", *, account: str = ACCOUNT_ID, region: str = REGION
) -> StackPolicies:
    """Every policy of the stack's template, resolved for the local runtime."""
    resolver = Resolver(template, names.stack_name(env), account=account, region=region)
    resources = resolver.resources
    resource_policies, sources = _resource_policies(resources, resolver)
    physical = {}
    for logical in resources:
        for attribute in ("Arn", "TopicArn"):
            try:
                physical[logical] = resolver.get_att(logical, attribute)
                break
            except ResolveError:
                continue
    return StackPolicies(
        env=env,
        principals=_principals(resources, resolver),
        resource_policies=resource_policies,
        resource_policy_sources=sources,
        api_methods=_api_methods(resources, resolver),
        physical_arns=physical,
    )


def load_stack_policies(
    env: str = "dev", context: dict[str, Any] | None = None, *, template: Any = None
) -> StackPolicies:
    """The policies of the synthesized stack (cached synth), or of `template` (a dict or a path) if given."""
    source = synthesized_template(env, context) if template is None else load_template(template)
    return stack_policies(source, env)
