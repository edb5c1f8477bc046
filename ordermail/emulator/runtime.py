"""The embedded local runtime: the whole stack on moto, in this process, with a loopback endpoint.

    with LocalRuntime(RuntimeOptions(outbox_dir=tmp)) as runtime:
        boto3.client("sns", endpoint_url=runtime.endpoint_url).publish(...)
        runtime.wait_idle()

In-process boto3 calls are served by moto directly (no HTTP); other processes (the CLI, the AWS
CLI, any SDK) reach the same backends at `runtime.endpoint_url`.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from moto import mock_aws
from moto.core.config import DefaultConfig, default_user_config
from moto.server import ThreadedMotoServer

from tasks import names

from . import memory, quotas, users_table
from .async_invoke import RETRY_DELAYS_SECONDS, AsyncRetrier, dead_letter_feedback
from .iam import enforce as iam_enforce
from .options import RuntimeOptions
from .orders_api import OrdersApiServer
from .outbox import Outbox, order_id_of
from .pipe import ExecutionResult, ExecutionRunner, PipePoller
from .provision import ACCOUNT_ID, Provisioned, Settings, provision, register_outputs_stack
from .reports import InvocationRecord, RuntimeReports, RuntimeStats, SentMail
from .seams import Patches
from .seams.faults import FaultScript
from .seams.lambda_ import Invocation
from .ses_events import EventPublisher, events_for
from .status_api import StatusApiServer
from .status_events import start_status_events
from .wiring import install_seams

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_ACTIVE_LOCK = threading.Lock()
_ACTIVE: list[LocalRuntime] = []


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalRuntime(RuntimeReports):
    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.port = self.options.port or free_port(self.options.host)
        self.endpoint_url = f"http://{self.options.host}:{self.port}"
        self.region = "us-east-1"
        self._execution_listeners: list[Callable[[ExecutionResult], None]] = []
        self._ses_events_sns: Any = None
        self.stats_data = RuntimeStats()
        self._stats_lock = threading.Lock()
        self._patches = Patches()
        self.faults = FaultScript()
        self._rng = random.Random(self.options.faults.seed)
        self._mock: Any = None
        self._server: ThreadedMotoServer | None = None
        self._poller: PipePoller | None = None
        self._publisher: EventPublisher | None = None
        self._async: AsyncRetrier | None = None
        self._trimmer: memory.IdleTrimmer | None = None
        self._arenas_limited = False
        self._status_api: StatusApiServer | None = None
        self.orders_api: OrdersApiServer | None = None  # POST <OrdersApiUrl> (orders_api.py)
        self.services: list[Any] = []  # more parts with a stop(), stopped first, last started first
        self._saved_env: dict[str, str | None] = {}
        self._saved_config: dict[str, Any] = {}
        self.outbox = Outbox(self.options.outbox_dir)
        self.provisioned: Provisioned | None = None
        self.started = False
        self.listener_errors = 0
        self.iam: iam_enforce.Enforcer | None = None
        options = self.options
        self.ses_quota = quotas.SesSendQuota(
            quotas.SesAccount.for_env(options.env, max_send_rate=options.ses_max_send_rate,
                                      daily_quota=options.ses_daily_quota,
                                      production_access=options.ses_production_access),
            time_scale=options.time_scale,
        )

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        with _ACTIVE_LOCK:
            if _ACTIVE:
                raise RuntimeError("a LocalRuntime is already running in this process; stop it first")
            _ACTIVE.append(self)
        try:
            self._start()
        except Exception:
            self.stop()
            raise

    def _start(self) -> None:
        options = self.options
        if options.fast:  # before the runtime's threads exist (memory.py)
            self._arenas_limited = memory.limit_malloc_arenas(2)
        self._set_env(
            {
                **{key: os.environ.get(key) or value for key, value in _FAKE_CREDENTIALS.items()},
                "AWS_DEFAULT_REGION": self.region,
                "MOTO_PORT": str(self.port),  # the interpreter's own boto3 calls, when not stubbed
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": names.METRICS_NAMESPACE,
            }
        )
        self._saved_config = {
            "stepfunctions": dict(default_user_config.get("stepfunctions", {})),
            "lambda": dict(default_user_config.get("lambda", {})),
        }
        config: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}
        self._mock = mock_aws(config=config)
        self._mock.start()
        install_seams(self)
        self._server = ThreadedMotoServer(ip_address=options.host, port=self.port, verbose=False)
        self._server.start()

        env_default_sandbox = options.env != "prod"
        settings = Settings(
            env=options.env,
            region=self.region,
            ses_sandbox=env_default_sandbox if options.ses_sandbox is None else options.ses_sandbox,
            claim_lease_seconds=max(1, round(options.scaled(names.CLAIM_LEASE_SECONDS))),
            visibility_timeout_seconds=max(2, round(options.scaled(names.QUEUE_VISIBILITY_SECONDS))),
            **options.pacing(self.ses_quota.account.max_send_rate),
            users_table=users_table.users_config(options),
        )
        if options.max_receive_count is not None:
            settings.max_receive_count = options.max_receive_count
        self.provisioned = provision(settings)
        users_table.create_sample_table(options)
        # The functions run in this process: their environment is this process's environment.
        merged: dict[str, str] = {}
        for variables in self.provisioned.function_env.values():
            merged.update(variables)
        self._set_env(merged)  # the handlers' settings cache is keyed by this environment

        self._publisher = EventPublisher(self._publish_ses_event, delay_seconds=options.scaled(options.ses_event_delay_seconds))
        self._publisher.start()
        self._async = AsyncRetrier(
            _invoke_again, self._dead_letter_async,
            delays=tuple(options.scaled(seconds) for seconds in RETRY_DELAYS_SECONDS),
        )
        self._async.start()

        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[ACCOUNT_ID][self.region]
        runner = ExecutionRunner(
            backend, self.provisioned.state_machine_arn, fast=options.fast, keep_history=options.keep_history
        )
        self._poller = PipePoller(
            sqs=boto3.client("sqs", region_name=self.region),
            queue_url=self.provisioned.orders_queue_url,
            queue_arn=self.provisioned.orders_queue_arn,
            region=self.region,
            runner=runner,
            workers=options.pipe_workers,
            on_result=self._on_execution,
            iam=self.iam,
            state_machine_arn=self.provisioned.state_machine_arn,
        )
        self._poller.start()
        if options.fast:
            memory.install_no_retain_ses(self._patches, ACCOUNT_ID, self.region)
            self._trimmer = memory.IdleTrimmer(self._activity)
            self._trimmer.start()
        self._status_api = StatusApiServer(
            host=options.host, port=0, function_name=self.names["status_api_function"], region=self.region,
            iam=self.iam, stage=options.env,
        )
        self._status_api.start()
        self.provisioned.outputs["StatusApiUrl"] = self._status_api.url
        self.orders_api = OrdersApiServer(host=options.host, port=0, topic_arn=self.outputs["OrdersTopicArn"],
                                          region=self.region, iam=self.iam, stage=options.env)
        self.orders_api.start()
        self.provisioned.outputs["OrdersApiUrl"] = self.orders_api.url
        if options.status_events:  # the ledger stream's status Pipes (status_events.py)
            start_status_events(self)
        register_outputs_stack(options.env, self.outputs, region=self.region)
        self.started = True

    def stop(self) -> None:
        while self.services:
            self.services.pop().stop()
        for server in (self.orders_api, self._status_api):
            if server:
                server.stop()
        self.orders_api = self._status_api = None
        if self._poller:
            self._poller.stop()
            self._poller = None
        if self._publisher:
            self._publisher.stop()
            self._publisher = None
        if self._async:
            self._async.stop()
            self._async = None
        if self._trimmer:
            self._trimmer.stop()
            self._trimmer = None
        if self._arenas_limited:
            memory.limit_malloc_arenas(0)  # glibc's default again
            self._arenas_limited = False
        self._ses_events_sns = None
        if self._server:
            self._server.stop()
            self._server = None
        self._patches.undo()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for section, values in self._saved_config.items():
            default_user_config[section] = values  # type: ignore[literal-required]
        self._restore_env()
        with _ACTIVE_LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
        self.started = False

    # --- what callers use ------------------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, str]:
        if not self.provisioned:
            raise RuntimeError("the runtime is not started")
        return dict(self.provisioned.outputs)

    @property
    def names(self) -> dict[str, str]:
        return names.resource_names(self.options.env)

    def client(self, service: str) -> Any:
        """A boto3 client served in-process by this runtime."""
        return boto3.client(service, region_name=self.region)

    def queue_depths(self) -> dict[str, int]:
        from moto.sqs import sqs_backends

        backend = sqs_backends[ACCOUNT_ID][self.region]
        depths = {}
        for key in ("orders_queue", "orders_dlq"):
            queue = backend.get_queue(self.names[key])
            depths[key] = int(queue.approximate_number_of_messages) + int(
                queue.approximate_number_of_messages_not_visible
            ) + int(queue.approximate_number_of_messages_delayed)
        return depths

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """True once the queue is drained, no execution runs and no SES event is pending."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            busy = (
                self.queue_depths()["orders_queue"]
                or (self._poller.in_flight if self._poller else 0)
                or (self._publisher.pending() if self._publisher else 0)
                or (self._async.pending() if self._async else 0)
                or any(getattr(part, "pending", int)() for part in self.services)
            )
            quiet = 0 if busy else quiet + 1
            if quiet >= 3:
                if self._trimmer:  # idle: hand what the work freed back to the OS (see memory.py)
                    self._trimmer.trim_if_dirty()
                return True
            time.sleep(0.02)
        return False

    def inject(self, target: str, *errors: Exception) -> None:
        """Raise these errors on the next calls of `target` (ses, dynamodb, lambda); see seams.faults.FaultScript."""
        self.faults.add(target, *errors)

    def add_execution_listener(self, listener: Callable[[ExecutionResult], None]) -> None:
        """Call `listener(result)` for every finished execution, on the Pipe worker that ran it.

        With `options.keep_history`, `result.history` holds the execution's event history during the
        call (the benchmark derives state transitions and Express log volume from it); it is dropped
        afterwards, so stored results stay small. A listener's exception is counted, never raised.
        """
        self._execution_listeners.append(listener)

    def sent_mails(self) -> list[SentMail]:
        with self._stats_lock:
            return list(self.stats_data.sent)

    def executions(self) -> list[ExecutionResult]:
        with self._stats_lock:
            return list(self.stats_data.executions)

    # --- internals --------------------------------------------------------------------------------

    def _activity(self) -> int:
        """A number that changes whenever the runtime does work (the idle trimmer watches it)."""
        stats = self.stats_data
        publisher = self._publisher
        return (len(stats.executions) + len(stats.invocations) + len(stats.sent)
                + (publisher.published + publisher.failed if publisher else 0))

    def _on_sent(self, message_id: str, request: dict[str, Any]) -> None:
        self.outbox.save(message_id, request)
        mail = SentMail(
            message_id=message_id,
            order_id=order_id_of(request),
            recipients=list(request.get("Destination", {}).get("ToAddresses", [])),
            subject=request["Content"]["Simple"]["Subject"]["Data"],
            at=time.time(),
        )
        with self._stats_lock:
            self.stats_data.sent.append(mail)
        if self._publisher:
            self._publisher.schedule(events_for(message_id, request, region=self.region))

    def _publish_ses_event(self, message: str) -> None:
        assert self.provisioned is not None
        if self._ses_events_sns is None:  # one client: building one per event costs milliseconds
            self._ses_events_sns = self.client("sns")
        with iam_enforce.acting_as(self.iam.principals.ses_events if self.iam else None):  # SES publishes it
            self._ses_events_sns.publish(TopicArn=self.provisioned.ses_events_topic_arn, Message=message)

    def _on_async_error(self, function: Any, event: Any, payload: str) -> None:
        """A function SNS invoked failed: Lambda retries it, then dead-letters it (async_invoke.py)."""
        retrier = self._async
        if retrier is None or retrier.on_own_thread():
            return  # stopping, or a retry's own outcome (the retrier handles it)
        retrier.failed(function, event, payload)

    def _dead_letter_async(self, function: Any, event: Any, payload: str) -> None:
        dead_letter_feedback(self, function, event, payload)

    def _on_invocation(self, invocation: Invocation) -> None:
        record = InvocationRecord(invocation.function_name, invocation.started, invocation.seconds,
                                  invocation.errored, invocation.cpu_seconds)
        with self._stats_lock:
            self.stats_data.invocations.append(record)

    def _on_execution(self, result: ExecutionResult) -> None:
        for listener in self._execution_listeners:
            try:
                listener(result)
            except Exception:
                self.listener_errors += 1
        result.history = None
        with self._stats_lock:
            self.stats_data.executions.append(result)
            executions = len(self.stats_data.executions)
        if self.options.fast and executions % 50 == 0:
            memory.prune_finished_threads()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()


def _invoke_again(function: Any, event: Any) -> tuple[str, bool]:
    """One more attempt of an asynchronous invocation, through the in-process Lambda hook."""
    payload, errored, _ = function._invoke_lambda(event=event)
    return str(payload), bool(errored)
