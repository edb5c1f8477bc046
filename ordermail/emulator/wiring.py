"""The order the runtime installs its seams in, innermost first: each install wraps what is there.

The bench's instruments go innermost (the request counter and capacity meter see what moto serves);
DynamoDB's atomic writes wrap moto's own write only; faults wrap the meters (a throttled request is
not metered); the SES quota sits inside the SES capture (an injected fault never spends it); IAM
enforcement goes last, outermost, as AWS evaluates it before anything else.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import compact_items, memory, order_events, quotas, shapes, users_table
from .iam import enforce as iam_enforce
from .iam import template as iam_template
from .provision import ACCOUNT_ID
from .seams import dynamodb, faults, lambda_, powertools, ses, sqs, stepfunctions

if TYPE_CHECKING:
    from .options import RuntimeOptions
    from .runtime import LocalRuntime


def install_seams(runtime: LocalRuntime) -> None:
    options, patches, resource = runtime.options, runtime._patches, runtime.names
    for instrument in options.instruments:
        instrument.install(patches)
    lambda_.install_inprocess_lambda(
        patches,
        faults=options.faults,
        rng=runtime._rng,
        fault_functions=frozenset({resource["validate_function"], resource["render_function"]}),
        on_invocation=runtime._on_invocation,
        script=runtime.faults,
        on_async_error=runtime._on_async_error,
    )
    quotas.install_ses(patches, runtime.ses_quota)
    quotas.install_sns(patches)
    quotas.install_step_functions(patches, time_scale=options.time_scale)
    ses.install_ses_capture(patches, faults=options.faults, rng=runtime._rng, on_sent=runtime._on_sent,
                            script=runtime.faults)
    stepfunctions.install_sfn_error_names(patches)
    stepfunctions.install_sfn_dynamodb_binary(patches)
    shapes.install(patches)  # request shapes checked as AWS checks them
    powertools.install_powertools_locks(patches)
    stepfunctions.install_aws_timestamps(patches)
    stepfunctions.install_time_scale(patches, options.time_scale)
    # Fast mode keeps the ledger's items compressed at rest; each write's items are encoded again
    # inside the write lock.
    compact = compact_items.install_compact_items(patches) if options.fast else None
    dynamodb.install_ddb_atomic_writes(patches, after_write=compact)
    faults.install_ddb_faults(patches, faults=options.faults, rng=runtime._rng, script=runtime.faults)
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if options.fast:
        memory.install_no_retain(patches)
        memory.install_interning(patches)
        stepfunctions.install_sfn_caches(patches)
        sqs.install_sqs_fast_paths(patches)
    queue_arn = f"arn:aws:sqs:{runtime.region}:{ACCOUNT_ID}:{resource['orders_queue']}"
    order_events.install_events_delivery(patches, lambda: runtime.iam)  # the enforcer is made below
    faults.install_sns_duplicates(patches, faults=options.faults, rng=runtime._rng, queue_arns={queue_arn})
    if options.iam:  # last: its seams wrap everything above
        runtime.iam = iam_enforce.install_for_runtime(
            patches, env=options.env, region=runtime.region, account=ACCOUNT_ID,
            endpoint_netlocs={f"{options.host}:{runtime.port}", f"localhost:{runtime.port}"},
            template=_iam_template(options),
        )


def _iam_template(options: RuntimeOptions) -> Any:
    """What IAM is enforced from: a template given, else the one synthesized with the context the
    options stand for (customer lookup, status events), else the default one (None)."""
    if options.iam_template is not None:
        return options.iam_template
    context = {**(users_table.lookup_context(options) or {}), **({"statusEvents": True} if options.status_events else {})}
    return iam_template.synthesized_template(options.env, context) if context else None
