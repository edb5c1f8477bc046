"""A small evaluator of the AWS policy rules the ordermail stack relies on.

Why not a library: moto's `moto.iam.access_control.IAMPolicy` ignores most condition operators and
turns an unmet condition into an explicit Deny (a Deny statement whose condition does not hold would
then deny, an Allow with `ses:FromAddress` could never be told apart from a Deny). The maintained
simulator (`@cloud-copilot/iam-simulate`) is a Node/TypeScript, AGPL library: the runtime would need
node in its process path. `policyuniverse`/`parliament` expand or lint policies, they do not decide
requests. So this module implements the documented evaluation logic for what the stack uses:

- explicit Deny (identity or resource policy) beats any Allow; no Allow is an implicit deny;
- Action/NotAction (case-insensitive, `*`/`?` wildcards), Resource/NotResource (case-sensitive);
- Principal/NotPrincipal in resource policies (`*`, `AWS` account/root/role/session ARN, `Service`);
  an account (root) principal in an Allow only delegates to the account's identity policies;
- same account: identity policy OR resource policy allows. KMS: the key policy must allow, directly
  or by delegating to the account root (then the identity policy must allow too);
- conditions: String*, Arn*, Bool, Null, with `...IfExists` and `ForAllValues:`/`ForAnyValue:`.
  A missing key makes a positive operator false and a negated one (`StringNotEquals`, ...) true,
  as AWS documents; `IfExists` makes a missing key true; `Null` tests presence. Condition keys are
  case-insensitive. Any other operator is rejected when the policy is compiled, never ignored.

Policies are treated as immutable once compiled (compiled forms are cached per document object).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ContextValue = str | list[str]


class PolicyError(ValueError):
    """A policy this evaluator cannot decide correctly (unknown operator, malformed element)."""


@dataclass(frozen=True)
class Request:
    principal_arn: (
        str  # an IAM ARN (role, assumed-role session, root) or a service principal ("sns.amazonaws.com")
    )
    action: str  # "service:Operation"
    resource: str  # the resource ARN ("*" for actions without one)
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def access_denied_message(request: Request, decision: Decision) -> str:
    """AWS's AccessDenied text for a denied request."""
    return (
        f"User: {request.principal_arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} {decision.reason}"
    )


# --- patterns ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards: `*` any run of characters (also across `/` and `:`), `?` exactly one.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body + r"\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise PolicyError(f"policy value is not a literal (unresolved intrinsic?): {value!r}")


def _matcher(patterns: Iterable[Any], ignore_case: bool) -> Callable[[str], bool]:
    texts = [_text(p) for p in patterns]
    if "*" in texts:
        return lambda _value: True
    exact = {t.lower() if ignore_case else t for t in texts if "*" not in t and "?" not in t}
    wild = [_glob(t, ignore_case) for t in texts if "*" in t or "?" in t]

    def match(value: str) -> bool:
        if (value.lower() if ignore_case else value) in exact:
            return True
        return any(w.match(value) for w in wild)

    return match


def _arn_match(pattern: str, value: str) -> bool:
    # ArnLike/ArnEquals compare the six colon-separated parts one by one, each with wildcards.
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(_glob(p, False).match(v) for p, v in zip(p_parts, v_parts, strict=True))


# --- conditions ----------------------------------------------------------------------------

_BASE_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    # name -> (does one policy value match one context value, negated)
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (lambda p, v: bool(_glob(p, False).match(v)), False),
    "StringNotLike": (lambda p, v: bool(_glob(p, False).match(v)), True),
    "ArnEquals": (_arn_match, False),
    "ArnLike": (_arn_match, False),
    "ArnNotEquals": (_arn_match, True),
    "ArnNotLike": (_arn_match, True),
    "Bool": (lambda p, v: p.lower() == v.lower(), False),
}
SUPPORTED_OPERATORS = frozenset(_BASE_OPERATORS) | {"Null"}


@dataclass(frozen=True)
class _Condition:
    key: str  # lower-cased
    values: tuple[str, ...]
    test: Callable[[str, str], bool]
    negated: bool
    if_exists: bool
    qualifier: str  # "", "ForAllValues", "ForAnyValue"
    null_check: bool = False

    def holds(self, context: Mapping[str, ContextValue]) -> bool:
        present = self.key in context
        if self.null_check:
            want_missing = self.values[0].lower() == "true"
            return want_missing != present
        if not present:
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            return self.negated and self.qualifier != "ForAnyValue"
        given = _as_list(context[self.key])

        def one(value: str) -> bool:
            hit = any(self.test(p, value) for p in self.values)
            return not hit if self.negated else hit

        if self.qualifier == "ForAllValues":
            return all(one(v) for v in given)
        if self.negated and self.qualifier == "":
            return all(one(v) for v in given)  # no value may match a negated single-valued test
        return any(one(v) for v in given)


def _compile_conditions(block: Any) -> tuple[_Condition, ...]:
    if not block:
        return ()
    if not isinstance(block, dict):
        raise PolicyError(f"Condition must be an object: {block!r}")
    compiled = []
    for operator, tests in block.items():
        qualifier, _, name = operator.rpartition(":")
        if qualifier not in ("", "ForAllValues", "ForAnyValue"):
            raise PolicyError(f"unsupported condition qualifier {qualifier!r} in {operator!r}")
        if_exists = name.endswith("IfExists") and name != "Null"
        base = name[: -len("IfExists")] if if_exists else name
        if base not in SUPPORTED_OPERATORS:
            raise PolicyError(
                f"unsupported condition operator {operator!r} (supported: {', '.join(sorted(SUPPORTED_OPERATORS))})"
            )
        for key, raw in tests.items():
            values = tuple(_text(v) for v in _as_list(raw))
            if base == "Null":
                compiled.append(
                    _Condition(key.lower(), values, lambda p, v: False, False, False, qualifier, True)
                )
                continue
            test, negated = _BASE_OPERATORS[base]
            compiled.append(_Condition(key.lower(), values, test, negated, if_exists, qualifier))
    return tuple(compiled)


# --- principals ----------------------------------------------------------------------------

_ASSUMED = re.compile(r"arn:(?P<p>[^:]+):sts::(?P<acct>\d{12}):assumed-role/(?P<role>[^/]+)/.+\Z")
_IAM = re.compile(r"arn:(?P<p>[^:]+):iam::(?P<acct>\d{12}):(?P<rest>.+)\Z")


def principal_account(principal_arn: str) -> str | None:
    match = _ASSUMED.match(principal_arn) or _IAM.match(principal_arn)
    return match.group("acct") if match else None


def _principal_matches(spec: Any, principal: str) -> tuple[bool, bool]:
    """(matches, by_account): by_account when only an account/root entry matched (a delegation)."""
    if spec == "*":
        return True, False
    if not isinstance(spec, dict):
        raise PolicyError(f"Principal must be '*' or an object: {spec!r}")
    matched_account = False
    for kind, raw in spec.items():
        for entry in (_text(v) for v in _as_list(raw)):
            if kind == "Service":
                if entry == principal:
                    return True, False
            elif kind == "AWS":
                if entry == "*":
                    return True, False
                account = principal_account(principal)
                if account is None:
                    continue  # a service principal is not an AWS (IAM) principal
                if entry in (account, f"arn:aws:iam::{account}:root"):
                    matched_account = True
                    continue
                if entry == principal:
                    return True, False
                assumed = _ASSUMED.match(principal)
                if assumed and entry == f"arn:{assumed['p']}:iam::{assumed['acct']}:role/{assumed['role']}":
                    return True, False
            else:
                raise PolicyError(f"unsupported principal type {kind!r} in {spec!r}")
    return matched_account, matched_account


# --- statements and policies ---------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    allow: bool
    action: Callable[[str], bool]
    action_negated: bool
    resource: Callable[[str], bool]
    resource_negated: bool
    principal: Any  # None for identity policies
    principal_negated: bool
    conditions: tuple[_Condition, ...]

    def applies(self, request: Request, context: Mapping[str, ContextValue]) -> bool:
        if self.action(request.action) == self.action_negated:
            return False
        if self.resource(request.resource) == self.resource_negated:
            return False
        return all(c.holds(context) for c in self.conditions)


def _one_of(
    statement: dict[str, Any], positive: str, negative: str, required: bool = True
) -> tuple[Any, bool]:
    if positive in statement and negative in statement:
        raise PolicyError(f"statement has both {positive} and {negative}: {statement}")
    if positive in statement:
        return statement[positive], False
    if negative in statement:
        return statement[negative], True
    if required:
        raise PolicyError(f"statement has neither {positive} nor {negative}: {statement}")
    return None, False


def compile_statement(statement: dict[str, Any]) -> _Statement:
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"statement Effect must be Allow or Deny: {statement}")
    actions, action_negated = _one_of(statement, "Action", "NotAction")
    resources, resource_negated = _one_of(statement, "Resource", "NotResource", required=False)
    principal, principal_negated = _one_of(statement, "Principal", "NotPrincipal", required=False)
    return _Statement(
        allow=effect == "Allow",
        action=_matcher(_as_list(actions), ignore_case=True),
        action_negated=action_negated,
        # A resource policy may leave Resource out: it then means the resource it is attached to.
        resource=_matcher(_as_list(resources if resources is not None else "*"), ignore_case=False),
        resource_negated=resource_negated,
        principal=principal,
        principal_negated=principal_negated,
        conditions=_compile_conditions(statement.get("Condition")),
    )


_COMPILED: dict[int, tuple[dict[str, Any], tuple[_Statement, ...]]] = {}


def compile_policy(document: dict[str, Any]) -> tuple[_Statement, ...]:
    """The document's statements, compiled once per document object; raises PolicyError early."""
    cached = _COMPILED.get(id(document))
    if cached is not None and cached[0] is document:
        return cached[1]
    statements = document.get("Statement", [])
    compiled = tuple(compile_statement(s) for s in _as_list(statements))
    _COMPILED[id(document)] = (document, compiled)
    return compiled


def _with_derived_keys(request: Request) -> dict[str, ContextValue]:
    # Keys AWS fills from the caller itself; an explicit value in the request wins.
    context: dict[str, ContextValue] = {}
    account = principal_account(request.principal_arn)
    if account is not None:
        context["aws:principalaccount"] = account
        context["aws:principalarn"] = request.principal_arn
    elif request.principal_arn.endswith(".amazonaws.com"):
        context["aws:principalservicename"] = request.principal_arn
    for key, value in request.context.items():
        context[key.lower()] = value
    return context


def evaluate(
    request: Request, identity_policies: Iterable[dict[str, Any]], resource_policy: dict[str, Any] | None
) -> Decision:
    context = _with_derived_keys(request)
    identity_allow = False
    for document in identity_policies:
        for statement in compile_policy(document):
            if statement.applies(request, context):
                if not statement.allow:
                    return Decision(False, "with an explicit deny in an identity-based policy")
                identity_allow = True
    resource_allow = delegated = False
    if resource_policy is not None:
        for statement in compile_policy(resource_policy):
            if statement.principal is None:
                raise PolicyError("a resource-based policy statement needs Principal or NotPrincipal")
            matched, by_account = _principal_matches(statement.principal, request.principal_arn)
            if statement.principal_negated:
                matched, by_account = not matched, False
            if not matched or not statement.applies(request, context):
                continue
            if not statement.allow:
                return Decision(False, "with an explicit deny in a resource-based policy")
            if by_account:
                delegated = True
            else:
                resource_allow = True
    is_kms = request.resource.startswith("arn:") and request.resource.split(":", 3)[2] == "kms"
    if is_kms:
        # A KMS key policy is the only source of access: IAM policies count only where it delegates to the account.
        if resource_allow or (delegated and identity_allow):
            return Decision(True, "allowed by the key policy")
        if delegated:
            return Decision(False, f"because no identity-based policy allows the {request.action} action")
        return Decision(False, f"because no resource-based policy allows the {request.action} action")
    if resource_allow:
        return Decision(True, "allowed by a resource-based policy")
    if identity_allow:
        return Decision(True, "allowed by an identity-based policy")
    return Decision(False, f"because no identity-based policy allows the {request.action} action")


def _freeze(context: Mapping[str, ContextValue]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in context.items()))


class DecisionCache:
    """Memoizes decisions by (principal, action, resource, context) for one fixed set of policies.

    `identity_policies(principal)` and `resource_policy(resource)` must be stable while the cache lives;
    build a new cache when the policies change (e.g. a mutation test hands over another template).
    """

    def __init__(
        self,
        identity_policies: Callable[[str], list[dict[str, Any]]],
        resource_policy: Callable[[str], dict[str, Any] | None],
        max_entries: int = 65536,
    ) -> None:
        self._identity = identity_policies
        self._resource = resource_policy
        self._max = max_entries
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self.hits = 0
        self.misses = 0

    def evaluate(self, request: Request) -> Decision:
        key = (request.principal_arn, request.action, request.resource, _freeze(request.context))
        decision = self._decisions.get(key)
        if decision is not None:
            self.hits += 1
            return decision
        self.misses += 1
        decision = evaluate(request, self._identity(request.principal_arn), self._resource(request.resource))
        if len(self._decisions) >= self._max:
            self._decisions.clear()  # simple bound: the working set of a run is small
        self._decisions[key] = decision
        return decision
