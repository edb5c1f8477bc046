"""Options of the embedded runtime: where it listens, how fast its clock runs, which faults it injects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks import names


@dataclass(frozen=True)
class Faults:
    """Fault injection, off by default. Rates are probabilities per call (0.0 to 1.0)."""

    ses_throttle_rate: float = 0.0  # SESv2 SendEmail → TooManyRequestsException
    ses_reject_rate: float = 0.0  # SESv2 SendEmail → MessageRejected
    ddb_throttle_rate: float = 0.0  # DynamoDB item writes/reads → ProvisionedThroughputExceededException
    lambda_error_rate: float = 0.0  # workflow Lambda invokes → Lambda.ServiceException
    sns_duplicate_rate: float = 0.0  # orders topic → queue delivered twice
    seed: int | None = None  # a seed makes a run's faults repeatable

    def __post_init__(self) -> None:
        for name in ("ses_throttle_rate", "ses_reject_rate", "ddb_throttle_rate", "lambda_error_rate",
                     "sns_duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0 and 1, got {value}")

    @property
    def any(self) -> bool:
        return any((self.ses_throttle_rate, self.ses_reject_rate, self.ddb_throttle_rate,
                    self.lambda_error_rate, self.sns_duplicate_rate))


@dataclass(frozen=True)
class RuntimeOptions:
    env: str = "dev"
    host: str = "127.0.0.1"
    port: int | None = None  # None: a free loopback port
    outbox_dir: Path = field(default_factory=lambda: Path("outbox"))
    # The runtime's clock factor: retry back-offs, the claim lease, the queue's visibility timeout
    # and SES event delays are multiplied by it (1.0 = real AWS timing).
    time_scale: float = 0.01
    ses_event_delay_seconds: float = 2.0  # SES's own delay before Delivery, before scaling
    pipe_workers: int = 4  # concurrent executions the Pipe runs (Pipes scale with the queue)
    # fast=False runs stock moto (definition parsed and state machine copied per execution, new
    # boto3 clients per task, async executions polled, nothing pruned): the benchmark's baseline.
    fast: bool = True
    # The benchmark's instruments, off by default: hand each execution's event history to the
    # runtime's execution listeners (state transitions, Express log volume), and objects with an
    # `install(patches)` installed innermost at start (ordermail/bench/meters.py: the request
    # counter, the DynamoDB capacity meter); `LocalRuntime.instrument(kind)` finds one.
    keep_history: bool = False
    instruments: tuple[Any, ...] = ()
    faults: Faults = field(default_factory=Faults)
    ses_sandbox: bool | None = None  # None: the context default (true outside prod)
    max_receive_count: int | None = None  # None: names.CONTEXT_DEFAULTS
    # The SES account (quotas.py): None takes AWS's figures for a sandbox account outside prod
    # (1 mail/s, 200 per 24 h, verified recipients only) and for production access in prod (14/s, 50,000).
    ses_max_send_rate: float | None = None
    ses_daily_quota: int | None = None
    ses_production_access: bool | None = None
    # IAM enforcement (iam/enforce.py) from the synthesized template; off only for the stock-moto
    # benchmark baseline. `iam_template` (a path or dict) replaces the synthesized one (mutation tests).
    iam: bool = True
    iam_template: Any = None
    # Customer lookup by id (users_table.py): the name of a users table in this runtime, or
    # sample_users to create ordermail-<env>-sample-users with a few customers and read that.
    users_table: str | None = None
    sample_users: bool = False
    # Status events (docs/EVENTS.md): the ledger stream → OrderEmailStatusChanged on the bus, as the
    # stack synthesized with context statusEvents=true does (its template then grants the Pipes).
    status_events: bool = False

    def __post_init__(self) -> None:
        if self.env not in names.ENVIRONMENTS:
            raise ValueError(f"env must be one of {names.ENVIRONMENTS}, got {self.env!r}")
        if not 0 < self.time_scale <= 1:
            raise ValueError(f"time_scale must be in (0, 1], got {self.time_scale}")
        if self.ses_max_send_rate is not None and self.ses_max_send_rate <= 0:
            raise ValueError(f"ses_max_send_rate must be positive, got {self.ses_max_send_rate}")
        if self.ses_daily_quota is not None and self.ses_daily_quota < 0:
            raise ValueError(f"ses_daily_quota must be zero or more, got {self.ses_daily_quota}")
        if self.users_table is not None and self.sample_users:
            raise ValueError("users_table and sample_users exclude each other")
        if self.pipe_workers < 1:
            raise ValueError("pipe_workers must be at least 1")

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def pacing(self, max_send_rate: float) -> dict[str, Any]:
        """provision.Settings for the pacing states. Their windows are seconds of the wall clock
        (`$$.State.EnteredTime`) and the rate is per AWS second, s real seconds: R/s per window."""
        return {
            "sends_per_window": max(1, round(max_send_rate / self.time_scale)),
            "pacing_max_wait_seconds": round(self.scaled(names.PACING_MAX_WAIT_SECONDS), 3),
            "rate_requeue_delay_seconds": max(1, round(self.scaled(names.PACING_REQUEUE_DELAY_SECONDS))),
            "quota_requeue_delay_seconds": max(1, round(self.scaled(names.QUOTA_REQUEUE_DELAY_SECONDS))),
        }
