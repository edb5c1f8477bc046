"""The `ordermail` operator CLI: argparse wiring and error handling.

Exit codes: 0 ok; 1 not found, refused or failed (AWS error, unreachable endpoint, missing stack);
2 usage (bad arguments, unreadable file, bad JSON). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ordermail.cli.commands import (
    cost,
    demo,
    events,
    history,
    local,
    outputs,
    publish,
    redrive,
    replay,
    resend,
    smoke,
    status,
)
from ordermail.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, describe_aws_error
from tasks import names

COMMANDS = (demo, local, outputs, events, publish, status, history, replay, resend, redrive, smoke, cost)
# Subcommands that live with another part of the project, registered when present; each module has
# `register(subparsers, parents)` like the ones above (`ordermail bench` belongs to the benchmark).
OPTIONAL_COMMANDS = ("ordermail.bench.cli",)


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Global options, accepted before or after the subcommand.

    The subcommand copies default to SUPPRESS so that they do not overwrite a value given before
    the subcommand (`ordermail --env prod status X` and `ordermail status X --env prod` both work).
    """
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--env", choices=names.ENVIRONMENTS, default=default("dev"),
                        help=f"environment: the stack {names.STACK_NAME_PREFIX}-<env> (default dev)")
    parser.add_argument("--endpoint-url", default=default(os.environ.get("AWS_ENDPOINT_URL") or None),
                        metavar="URL", help="a local endpoint (`ordermail local`); default $AWS_ENDPOINT_URL, else AWS")
    parser.add_argument("--region", default=default(None), help="AWS region (default: your AWS configuration)")
    parser.add_argument("--json", action="store_true", default=default(False), help="JSON output for scripts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ordermail",
        description="Operate ordermail: order-confirmation e-mail on AWS (or on the embedded local runtime).",
        epilog="Exit codes: 0 ok, 1 not found / refused / failed, 2 usage error.",
    )
    _add_common(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub, [common])
    for module_name in OPTIONAL_COMMANDS:
        try:
            found = importlib.util.find_spec(module_name) is not None
        except ModuleNotFoundError:  # its parent package is absent
            found = False
        if found:
            importlib.import_module(module_name).register(sub, [common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2, message already printed)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    prefix = f"ordermail {args.command}"
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"{prefix}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except (BotoCoreError, ClientError) as exc:
        print(f"{prefix}: {describe_aws_error(exc, getattr(args, 'endpoint_url', None))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ordermail status --json | head`: the reader left, nothing to report
        # Point stdout at /dev/null so the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
