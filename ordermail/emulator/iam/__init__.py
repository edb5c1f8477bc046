"""IAM for the local runtime: the synthesized template's policies, resolved and evaluated.

`template.synthesized_template(env)` → `policies.stack_policies(template, env)` → `evaluate.evaluate(...)`
(or `evaluate.DecisionCache`). The runtime wiring lives elsewhere; this package has no moto dependency.
"""

from ordermail.emulator.iam.evaluate import (
    Decision,
    DecisionCache,
    PolicyError,
    Request,
    access_denied_message,
    evaluate,
)
from ordermail.emulator.iam.policies import ApiMethod, Principal, StackPolicies, stack_policies
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
    "load_template",
    "stack_policies",
    "synthesized_template",
]
