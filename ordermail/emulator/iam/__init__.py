"""IAM for the local runtime: the synthesized template's policies, resolved and evaluated.

`template.synthesized_template(env)` → `policies.stack_policies(template, env)` → `evaluate.evaluate(...)`
(or `evaluate.DecisionCache`); `load_stack_policies(env, template=...)` does the first two steps.
Typical use by the runtime:

    policies = load_stack_policies("dev")              # or template=<a mutated template dict>
    cache = DecisionCache(policies.identity_policies, policies.resource_policy)
    caller = policies.principals["ordermail-dev-order-email"].session_arn()
    decision = cache.evaluate(Request(caller, "ses:SendEmail", identity_arn, {"ses:FromAddress": sender}))
    if not decision.allowed: raise AccessDenied(access_denied_message(request, decision))

The runtime wiring lives elsewhere; this package has no moto dependency and never loads jsii.
"""

from ordermail.emulator.iam.evaluate import (
    Decision,
    DecisionCache,
    PolicyError,
    Request,
    access_denied_message,
    evaluate,
)
from ordermail.emulator.iam.policies import (
    ApiMethod,
    Principal,
    StackPolicies,
    load_stack_policies,
    stack_policies,
)
from ordermail.emulator.iam.resolve import ResolveError
from ordermail.emulator.iam.template import cache_key, load_template, synthesized_template

__all__ = [
    "ApiMethod",
    "Decision",
    "DecisionCache",
    "PolicyError",
    "Principal",
    "Request",
    "ResolveError",
    "StackPolicies",
    "access_denied_message",
    "cache_key",
    "evaluate",
    "load_stack_policies",
    "load_template",
    "stack_policies",
    "synthesized_template",
]
