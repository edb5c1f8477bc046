"""`ordermail outputs`: the stack's CloudFormation outputs (ARNs, table, queues, API, dashboard)."""

from __future__ import annotations

import argparse
from typing import Any

from ordermail.cli.aws import OUTPUT_KEYS, AwsContext
from ordermail.cli.errors import EXIT_OK
from ordermail.cli.output import console, print_json, table


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("outputs", parents=parents, help="the stack outputs",
                            description="The CloudFormation outputs of the stack OrderMail-<env>.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = AwsContext.from_args(args)
    outputs = ctx.outputs
    if args.json:
        print_json(outputs)
        return EXIT_OK
    # The contract keys first, in their documented order, then whatever else the stack exports.
    ordered = [k for k in OUTPUT_KEYS if k in outputs] + sorted(k for k in outputs if k not in OUTPUT_KEYS)
    out = console()
    out.print(table(f"Stack {ctx.stack_name}" + (f" at {ctx.endpoint_url}" if ctx.is_local else ""),
                    ("output", "value"), [(k, outputs[k]) for k in ordered]))
    return EXIT_OK
