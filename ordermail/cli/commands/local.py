"""`ordermail local`: the embedded runtime as a local AWS endpoint, in the foreground.

Every resource of the stack exists behind the endpoint; point any SDK, the AWS CLI or this CLI at
it with AWS_ENDPOINT_URL. Stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from ordermail.cli.errors import EXIT_OK, CliError, UsageError
from ordermail.cli.output import console, table

FAULTS = ("ses_throttle_rate", "ses_reject_rate", "ddb_throttle_rate", "lambda_error_rate", "sns_duplicate_rate")


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `local` and `demo`: where the outbox goes, the clock, fault injection."""
    parser.add_argument("--outbox", type=Path, default=Path("outbox"), metavar="DIR",
                        help="where sent mails are written as .eml and .html (default ./outbox)")
    parser.add_argument("--time-scale", type=float, default=None, metavar="F",
                        help="clock factor for retries, leases, visibility timeout and SES delays (default 0.01)")
    parser.add_argument("--pipe-concurrency", type=int, default=None, metavar="N",
                        help="executions the Pipe runs at once (default 4). A deployed Pipe on an SQS queue "
                             "scales with the backlog, to hundreds; the pacing does not depend on it (docs/PACING.md)")
    parser.add_argument("--max-receive-count", type=int, default=None, metavar="N",
                        help="receives before a message goes to the DLQ (default: the stack's)")
    for fault in FAULTS:
        flag = "--fault-" + fault.replace("_", "-")
        parser.add_argument(flag, dest=f"fault_{fault}", type=float, default=0.0, metavar="P",
                            help=f"inject faults: probability 0..1 ({fault.replace('_', ' ')})")
    parser.add_argument("--fault-seed", type=int, default=None, metavar="N", help="make injected faults repeatable")
    parser.add_argument("--ses-max-send-rate", type=float, default=None, metavar="R",
                        help="the SES account's maximum send rate, mails per second of the runtime's clock "
                             "(R / time-scale per real second); default 1 outside prod (the SES sandbox), 14 in prod")
    parser.add_argument("--ses-daily-quota", type=int, default=None, metavar="Q",
                        help="mails per rolling 24 hours of the runtime's clock (86400 x time-scale real seconds); "
                             "default 200 outside prod (the SES sandbox), 50000 in prod")
    parser.add_argument("--ses-production-access", action=argparse.BooleanOptionalAction, default=None,
                        help="the SES account is out of the sandbox (any recipient); default: only in prod")
    parser.add_argument("--status-events", action=argparse.BooleanOptionalAction, default=False,
                        help="publish OrderEmailStatusChanged events to the bus (docs/EVENTS.md; "
                             "`ordermail events --follow` prints them)")
    parser.add_argument("--iam-template", type=Path, default=None, metavar="FILE",
                        help="enforce IAM from this CloudFormation template instead of the synthesized one")
    lookup = parser.add_mutually_exclusive_group()
    lookup.add_argument("--users-table", default=None, metavar="NAME",
                        help="look customers up by customerId in this table of the runtime (context usersTable)")
    lookup.add_argument("--sample-users", action="store_true",
                        help="create ordermail-<env>-sample-users (c-1001, c-1002, c-1003) and look customers up there")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("local", parents=parents, help="run the embedded runtime as a local AWS endpoint",
                            description="Run the whole stack offline (moto, in this process) as an AWS endpoint "
                                        "until Ctrl-C. Then: export AWS_ENDPOINT_URL=<endpoint>.")
    parser.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566; 0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--iam-report", action="store_true",
                        help="at exit, print per principal the IAM grants used, unused and the calls denied")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def runtime_options(args: argparse.Namespace, *, port: int | None, host: str = "127.0.0.1") -> Any:
    """RuntimeOptions from the command line (the emulator is imported only when it is needed)."""
    from ordermail.emulator import Faults, RuntimeOptions

    # moto says it does not model the marker resource of the outputs stack: true, and harmless.
    warnings.filterwarnings("ignore", message=".*WaitConditionHandle.*")
    extra: dict[str, Any] = {}
    if args.time_scale is not None:
        extra["time_scale"] = args.time_scale
    if args.max_receive_count is not None:
        extra["max_receive_count"] = args.max_receive_count
    if getattr(args, "pipe_concurrency", None) is not None:
        extra["pipe_workers"] = args.pipe_concurrency
    for name in ("ses_max_send_rate", "ses_daily_quota", "ses_production_access"):
        if getattr(args, name, None) is not None:
            extra[name] = getattr(args, name)
    if getattr(args, "status_events", False):
        extra["status_events"] = True
    if getattr(args, "iam_template", None) is not None:
        extra["iam_template"] = args.iam_template
    if getattr(args, "users_table", None):
        extra["users_table"] = args.users_table
    if getattr(args, "sample_users", False):
        extra["sample_users"] = True
    try:
        faults = Faults(seed=args.fault_seed, **{name: getattr(args, f"fault_{name}") for name in FAULTS})
        return RuntimeOptions(env=args.env, host=host, port=port, outbox_dir=args.outbox, faults=faults, **extra)
    except ValueError as exc:  # the options validate themselves (rates, time scale, env)
        raise UsageError(str(exc)) from exc


def print_iam_report(report: dict[str, Any]) -> None:
    """Per principal: each grant with its use count (UNUSED ones stand out), and every denied call."""
    from ordermail.emulator.iam.usage import format_report

    console().print(format_report(report), markup=False, soft_wrap=True)


def _check_port(host: str, port: int) -> None:
    """Fail fast on a taken port: the embedded server would only report it from its own thread."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                           "(another `ordermail local`? pick one with --port, 0 for any free port)") from exc


def run(args: argparse.Namespace) -> int:
    from ordermail.emulator import LocalRuntime

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 0..65535")
    options = runtime_options(args, port=args.port or None, host=args.host)
    if options.port is not None:
        _check_port(options.host, options.port)
    runtime = LocalRuntime(options)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not runtime.started:
            raise KeyboardInterrupt  # still starting: abandon the start, `finally` cleans up
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            runtime.start()
        except OSError as exc:  # the usual one: the port is taken
            raise CliError(f"cannot start the local runtime on {options.host}:{runtime.port}: {exc.strerror or exc}") \
                from exc
        out = console()
        out.print(f"ordermail local runtime ({options.env}) listening on {runtime.endpoint_url}", markup=False)
        out.print(table("Stack outputs", ("output", "value"), sorted(runtime.outputs.items())))
        out.print(f"outbox: {Path(options.outbox_dir).resolve()}", markup=False)
        out.print(f"export AWS_ENDPOINT_URL={runtime.endpoint_url} AWS_REGION={runtime.region} "
                  "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing", markup=False, soft_wrap=True)
        out.print("ready — Ctrl-C to stop", markup=False)
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        runtime.stop()
        signal.signal(signal.SIGTERM, previous)
    if args.iam_report and runtime.iam is not None:
        print_iam_report(runtime.iam.report())
    console().print("stopped", markup=False)
    return EXIT_OK
