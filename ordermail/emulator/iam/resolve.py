"""Resolves a template's intrinsics to the local runtime's physical names and ARNs.

Physical names come from the template's own name properties (TableName, TopicName, ...), which the
CDK app takes from `tasks/names.py`, the same names `provision.py` creates on moto. A resource the
template leaves unnamed (roles, the KMS key, API Gateway ids) gets a deterministic name derived from
the stack and logical id. Anything this module cannot resolve raises `ResolveError` naming the
resource and the expression: a policy is never widened or dropped silently.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Any

ACCOUNT_ID = "123456789012"  # ordermail/emulator/provision.py ACCOUNT_ID: moto's default account
REGION = "us-east-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class ResolveError(ValueError):
    """An intrinsic the resolver does not know how to evaluate for the local runtime."""


def _short_id(seed: str, length: int) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "".join(c for c in digest if c.isalnum())[:length]


class Resolver:
    def __init__(
        self,
        template: dict[str, Any],
        stack_name: str,
        *,
        account: str = ACCOUNT_ID,
        region: str = REGION,
        partition: str = PARTITION,
    ) -> None:
        self.resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self.parameters: dict[str, dict[str, Any]] = template.get("Parameters", {})
        self.stack_name, self.account, self.region, self.partition = stack_name, account, region, partition
        self._where = "template"

    # --- names and ARNs per resource type ----------------------------------------------------

    def _props(self, logical: str) -> dict[str, Any]:
        return self.resources[logical].get("Properties", {})

    def _named(self, logical: str, prop: str, max_length: int = 64) -> str:
        # CloudFormation would append a random suffix; the runtime needs a stable name instead.
        value = self._props(logical).get(prop)
        if value is not None:
            return str(self.resolve(value, self._where))
        return f"{self.stack_name}-{logical}"[:max_length]

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def name(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        prop = _NAME_PROPERTY.get(kind)
        if prop is None:
            raise ResolveError(f"{logical} ({kind}): no known physical name")
        return self._named(logical, prop)

    def ref(self, logical: str) -> str:
        if logical in _PSEUDO:
            return _PSEUDO[logical](self)
        if logical in self.parameters:
            default = self.parameters[logical].get("Default")
            if default is None:
                raise ResolveError(f"{self._where}: parameter {logical} has no default")
            return str(default)
        if logical not in self.resources:
            raise ResolveError(f"{self._where}: Ref to unknown {logical!r}")
        kind = self.resources[logical]["Type"]
        handler = _REF.get(kind)
        if handler is None:
            raise ResolveError(
                f"{self._where}: Ref {logical} ({kind}) is not supported by the local runtime's resolver"
            )
        return handler(self, logical)

    def get_att(self, logical: str, attribute: str) -> str:
        if logical not in self.resources:
            raise ResolveError(f"{self._where}: Fn::GetAtt on unknown {logical!r}")
        kind = self.resources[logical]["Type"]
        handler = _ATTRS.get((kind, attribute))
        if handler is None:
            raise ResolveError(
                f"{self._where}: Fn::GetAtt [{logical}, {attribute}] ({kind}) is not supported by the resolver"
            )
        return handler(self, logical)

    # --- intrinsics ----------------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic evaluated; `where` names the resource for error messages."""
        previous, self._where = self._where, where
        try:
            return self._resolve(value)
        finally:
            self._where = previous

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(p) for p in self._resolve(parts))
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Select":
                index, items = arg
                return self._resolve(items)[int(self._resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self._resolve(text)).split(separator)
            if key.startswith("Fn::") or key == "Condition":
                raise ResolveError(f"{self._where}: unsupported intrinsic {key}: {arg!r}")
        return {k: self._resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self._resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)


_PSEUDO: dict[str, Callable[[Resolver], str]] = {
    "AWS::Partition": lambda r: r.partition,
    "AWS::Region": lambda r: r.region,
    "AWS::AccountId": lambda r: r.account,
    "AWS::URLSuffix": lambda r: URL_SUFFIX,
    "AWS::StackName": lambda r: r.stack_name,
    "AWS::StackId": lambda r: r._arn(
        "cloudformation", f"stack/{r.stack_name}/{uuid.uuid5(uuid.NAMESPACE_URL, r.stack_name)}"
    ),
}

_NAME_PROPERTY = {
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::Policy": "PolicyName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::SES::EmailIdentity": "EmailIdentity",
    "AWS::Pipes::Pipe": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::ApiGateway::Stage": "StageName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
}


def _table_arn(r: Resolver, logical: str) -> str:
    return r._arn("dynamodb", f"table/{r.name(logical)}")


def _queue_url(r: Resolver, logical: str) -> str:
    return f"https://sqs.{r.region}.{URL_SUFFIX}/{r.account}/{r.name(logical)}"


def _key_id(r: Resolver, logical: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{r.stack_name}/{logical}"))


def _role_arn(r: Resolver, logical: str) -> str:
    path = r._props(logical).get("Path", "/")
    return f"arn:{r.partition}:iam::{r.account}:role{path}{r.name(logical)}"


def _rule_arn(r: Resolver, logical: str) -> str:
    # A rule on a custom bus has the bus in its ARN: rule/<bus>/<rule>.
    bus = str(r.resolve(r._props(logical).get("EventBusName", "default"), logical))
    bus = bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus
    path = r.name(logical) if bus == "default" else f"{bus}/{r.name(logical)}"
    return r._arn("events", f"rule/{path}")


def _api_id(r: Resolver, logical: str) -> str:
    return _short_id(f"{r.stack_name}/{logical}", 10)


_REF: dict[str, Callable[[Resolver, str], str]] = {
    "AWS::SNS::Topic": lambda r, lg: r._arn("sns", r.name(lg)),
    "AWS::SQS::Queue": _queue_url,
    "AWS::DynamoDB::Table": lambda r, lg: r.name(lg),
    "AWS::Lambda::Function": lambda r, lg: r.name(lg),
    "AWS::StepFunctions::StateMachine": lambda r, lg: r._arn("states", f"stateMachine:{r.name(lg)}"),
    "AWS::Logs::LogGroup": lambda r, lg: r.name(lg),
    "AWS::IAM::Role": lambda r, lg: r.name(lg),
    "AWS::IAM::Policy": lambda r, lg: r.name(lg),
    "AWS::KMS::Key": _key_id,
    "AWS::KMS::Alias": lambda r, lg: r.name(lg),
    "AWS::SES::ConfigurationSet": lambda r, lg: r.name(lg),
    "AWS::SES::EmailIdentity": lambda r, lg: r.name(lg),
    "AWS::Pipes::Pipe": lambda r, lg: r.name(lg),
    "AWS::CloudWatch::Alarm": lambda r, lg: r.name(lg),
    "AWS::ApiGateway::RestApi": _api_id,
    "AWS::ApiGateway::Resource": _api_id,
    "AWS::ApiGateway::Method": _api_id,
    "AWS::ApiGateway::Deployment": _api_id,
    "AWS::ApiGateway::RequestValidator": _api_id,
    "AWS::ApiGateway::Stage": lambda r, lg: r.name(lg),
    "AWS::ApiGateway::Model": _api_id,
    "AWS::Events::EventBus": lambda r, lg: r.name(lg),
    "AWS::Events::Rule": lambda r, lg: r.name(lg),
    "AWS::SNS::Subscription": lambda r, lg: (
        f"{r.resolve(r._props(lg)['TopicArn'], lg)}:{uuid.uuid5(uuid.NAMESPACE_URL, lg)}"
    ),
}

_ATTRS: dict[tuple[str, str], Callable[[Resolver, str], str]] = {
    ("AWS::SNS::Topic", "TopicArn"): _REF["AWS::SNS::Topic"],
    ("AWS::SNS::Topic", "TopicName"): lambda r, lg: r.name(lg),
    ("AWS::SQS::Queue", "Arn"): lambda r, lg: r._arn("sqs", r.name(lg)),
    ("AWS::SQS::Queue", "QueueName"): lambda r, lg: r.name(lg),
    ("AWS::SQS::Queue", "QueueUrl"): _queue_url,
    ("AWS::DynamoDB::Table", "Arn"): _table_arn,
    # moto labels a stream with its creation time; no static label can equal it, so any label of this table.
    ("AWS::DynamoDB::Table", "StreamArn"): lambda r, lg: f"{_table_arn(r, lg)}/stream/*",
    ("AWS::Lambda::Function", "Arn"): lambda r, lg: r._arn("lambda", f"function:{r.name(lg)}"),
    ("AWS::StepFunctions::StateMachine", "Arn"): _REF["AWS::StepFunctions::StateMachine"],
    ("AWS::StepFunctions::StateMachine", "Name"): lambda r, lg: r.name(lg),
    # CloudFormation's log group Arn ends in ":*" (every stream of the group).
    ("AWS::Logs::LogGroup", "Arn"): lambda r, lg: r._arn("logs", f"log-group:{r.name(lg)}:*"),
    ("AWS::KMS::Key", "Arn"): lambda r, lg: r._arn("kms", f"key/{_key_id(r, lg)}"),
    ("AWS::KMS::Key", "KeyId"): _key_id,
    ("AWS::IAM::Role", "Arn"): _role_arn,
    ("AWS::IAM::Role", "RoleId"): lambda r, lg: "AROA" + _short_id(lg, 17).upper(),
    ("AWS::Pipes::Pipe", "Arn"): lambda r, lg: r._arn("pipes", f"pipe/{r.name(lg)}"),
    ("AWS::ApiGateway::RestApi", "RootResourceId"): lambda r, lg: _short_id(f"{r.stack_name}/{lg}/root", 10),
    ("AWS::CloudWatch::Alarm", "Arn"): lambda r, lg: r._arn("cloudwatch", f"alarm:{r.name(lg)}"),
    ("AWS::Events::EventBus", "Arn"): lambda r, lg: r._arn("events", f"event-bus/{r.name(lg)}"),
    ("AWS::Events::EventBus", "Name"): lambda r, lg: r.name(lg),
    ("AWS::Events::Rule", "Arn"): _rule_arn,
    ("AWS::SES::ConfigurationSet", "Arn"): lambda r, lg: r._arn("ses", f"configuration-set/{r.name(lg)}"),
}
