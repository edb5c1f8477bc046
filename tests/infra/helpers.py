"""Reading a synthesized template: logical ids by property, intrinsics rendered as text, IAM by role."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

Template = dict[str, Any]

ACCOUNT = "123456789012"
REGION = "us-east-1"


def render(expr: Any) -> Any:
    """CloudFormation intrinsics as readable text: Ref X → ${X}, GetAtt X.A → ${X.A}, Join → concatenation."""
    if isinstance(expr, dict) and len(expr) == 1:
        fn, arg = next(iter(expr.items()))
        if fn == "Ref":
            return f"${{{arg}}}"
        if fn == "Fn::GetAtt":
            return f"${{{arg[0]}.{arg[1]}}}"
        if fn == "Fn::Join":
            return arg[0].join(str(render(part)) for part in arg[1])
        if fn == "Fn::Sub" and isinstance(arg, str):
            return arg
    if isinstance(expr, list):
        return [render(e) for e in expr]
    if isinstance(expr, dict):
        return {k: render(v) for k, v in expr.items()}
    return expr


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def logical_id(template: Template, type_: str, **props: Any) -> str:
    """The one resource of `type_` whose top-level properties equal `props`."""
    found = [
        k
        for k, r in resources(template, type_).items()
        if all(r.get("Properties", {}).get(p) == v for p, v in props.items())
    ]
    assert len(found) == 1, f"{type_} {props}: found {found}"
    return found[0]


_NAME_PROPERTY = {"AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName"}


def only(template: Template, type_: str, *, name: str | None = None) -> str:
    """The one resource of `type_` (with that physical name, for types that have one)."""
    found = [logical for logical, resource in resources(template, type_).items()
             if name is None or resource["Properties"].get(_NAME_PROPERTY[type_]) == name]
    assert len(found) == 1, f"expected one {type_} named {name}, found {found}"
    return found[0]


def table_id(template: Template, name: str) -> str:
    return only(template, "AWS::DynamoDB::Table", name=name)


def function_id(template: Template, name: str) -> str:
    return logical_id(template, "AWS::Lambda::Function", FunctionName=name)


def role_of_function(template: Template, fn_id: str) -> str:
    role = template["Resources"][fn_id]["Properties"]["Role"]
    return role["Fn::GetAtt"][0]


def role_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Every statement granted to the role: its inline policies and the AWS::IAM::Policy attached to it."""
    role = template["Resources"][role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(template: Template, role_id: str) -> dict[str, set[str]]:
    """action → set of rendered resources, over every Allow statement of the role."""
    grants: dict[str, set[str]] = defaultdict(set)
    for statement in role_statements(template, role_id):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            grants[action].update(str(render(r)) for r in _as_list(statement["Resource"]))
    return dict(grants)


def conditions_for(template: Template, role_id: str, action: str) -> list[Any]:
    return [s.get("Condition") for s in role_statements(template, role_id) if action in _as_list(s["Action"])]


def policy_statements(
    template: Template, type_: str, target_key: str, target_id: str
) -> list[dict[str, Any]]:
    """Statements of the resource policies (TopicPolicy/QueuePolicy) that name `target_id`."""
    out: list[dict[str, Any]] = []
    for policy in resources(template, type_).values():
        if {"Ref": target_id} in policy["Properties"][target_key]:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def tls_deny(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        s
        for s in statements
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]


def key_policy(template: Template) -> list[dict[str, Any]]:
    key_id = only(template, "AWS::KMS::Key")
    statements: list[dict[str, Any]] = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    return statements


def by_sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    found = [s for s in statements if s.get("Sid") == sid]
    assert len(found) == 1, f"statement {sid}: {found}"
    return found[0]


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def fake_value(expr: Any, template: Template) -> str:
    """A deploy-time value for a substitution: ARNs/names a real deploy would produce."""
    if isinstance(expr, str):
        return expr
    if "Fn::GetAtt" in expr:
        target = template["Resources"][expr["Fn::GetAtt"][0]]
        if target["Type"] == "AWS::Lambda::Function":
            name = target["Properties"]["FunctionName"]
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    if "Ref" in expr:
        target = template["Resources"][expr["Ref"]]
        props = target["Properties"]
        if target["Type"] == "AWS::SQS::Queue":  # Ref of a queue is its URL
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{props['QueueName']}"
        for name_prop in ("TableName", "Name", "ConfigurationSetName"):
            if name_prop in props:
                return str(props[name_prop])
    raise AssertionError(f"no fake value for {expr}")


def resolved_definition(template: Template) -> tuple[str, dict[str, Any]]:
    """The state machine definition with DefinitionSubstitutions applied as CloudFormation would."""
    sm = template["Resources"][only(template, "AWS::StepFunctions::StateMachine")]["Properties"]
    text: str = sm["DefinitionString"]
    subs = {k: fake_value(v, template) for k, v in sm.get("DefinitionSubstitutions", {}).items()}
    resolved = _PLACEHOLDER.sub(lambda m: subs.get(m.group(1), m.group(0)), text)
    return resolved, json.loads(resolved)


def ledger_table_id(template: Template, env: str = "dev") -> str:
    return table_id(template, f"ordermail-{env}-ledger")
