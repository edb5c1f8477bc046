"""Quotas AWS enforces, enforced by the local runtime with AWS's own errors.

| quota | AWS | here |
|---|---|---|
| Step Functions execution input | 256 KB (UTF-8) | StartExecution / StartSyncExecution and the Pipe's start: `ValidationException` |
| Step Functions state input/output, task results | 256 KB | moto's own check (`States.DataLimitExceeded`), kept: a test pins it |
| Express execution duration | 5 minutes | the execution ends `TIMED_OUT` (`States.Timeout`) |
| SNS Publish, message + attributes | 256 KB | `InvalidParameter`: "Invalid parameter: Message too long" |
| SQS message, body + attributes | 1 MiB (since 2025) | moto's own check, kept |
| DynamoDB item | 400 KB | moto's own check (`ValidationException`), kept: a test pins it |
| SES account sandbox | verified identities and the mailbox simulator only | `MessageRejected`, naming the addresses |
| SES maximum send rate | per account, short bursts above it pass | `TooManyRequestsException` (429): "Maximum sending rate exceeded." (a bucket of 2 s) |
| SES daily quota | per rolling 24 h | `LimitExceededException`: "Daily message quota exceeded." |

Durations run on the runtime's clock, like its retries and leases: at `time_scale` s, one second of
AWS time passes in s real seconds. So the Express limit is 300 x s real seconds, a send rate of R
per second admits R mails per s real seconds (R / s per real second), and the 24-hour window lasts
86,400 x s real seconds. At `--time-scale 1` every figure is AWS's.

The SES account: a new AWS account is in the SES sandbox (1 mail/s, 200 per 24 h, verified
recipients only). The runtime's account follows the stack's own assumption (the sandbox guard is
on outside prod): sandbox outside prod, production access (14 mails/s, 50,000 per 24 h, the
figures AWS grants first) in prod. `--ses-max-send-rate` and `--ses-daily-quota` set the figures;
SESv2 `GetAccount` reports them and the mails counted in the window. SES counts recipients, not
calls, and lets a call through while any of the quota is left (a mail to five recipients at 1/s, with
two seconds of burst held, then blocks the next three seconds): so does this. The rate is a token
bucket of two seconds (BURST_SECONDS: SES lets short bursts above the rate through).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.sesv2 import urls as sesv2_urls
from moto.sesv2.responses import SESV2Response
from moto.sns.exceptions import InvalidParameterValue as SnsInvalidParameter
from moto.sns.models import SNSBackend
from moto.stepfunctions.parser.api import StateMachineType
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from tasks import names

if TYPE_CHECKING:
    from .seams import Patches

STATES_PAYLOAD_BYTES = 256 * 1024
EXPRESS_MAX_SECONDS = float(names.EXPRESS_MAX_SECONDS)
SNS_MESSAGE_BYTES = 256 * 1024
DAY_SECONDS = 86_400.0

SEAMS: dict[str, tuple[object, str]] = {
    "sesv2_send_email_quotas": (SESV2Response, "send_email"),
    "sesv2_get_account": (SESV2Response, "get_account"),  # moto has no GetAccount: the one added operation
    "sesv2_url_paths": (sesv2_urls, "url_paths"),  # and the loopback server needs its route
    "sns_publish_size": (SNSBackend, "publish"),
    "sfn_execution_input_size": (Execution, "__init__"),
    "sfn_express_time_limit": (Program, "eval"),
}


@dataclass(frozen=True)
class SesAccount:
    """The SES account the runtime emulates: sandbox or production access, and its sending quotas."""

    production_access: bool
    max_send_rate: float  # mails (recipients) per second
    max_24_hour_send: int

    SANDBOX_RATE = 1.0
    SANDBOX_QUOTA = 200
    PRODUCTION_RATE = 14.0
    PRODUCTION_QUOTA = 50_000

    @classmethod
    def for_env(cls, env: str, *, max_send_rate: float | None = None, daily_quota: int | None = None,
                production_access: bool | None = None) -> SesAccount:
        production = env == "prod" if production_access is None else production_access
        rate = max_send_rate if max_send_rate is not None else (
            cls.PRODUCTION_RATE if production else cls.SANDBOX_RATE)
        quota = daily_quota if daily_quota is not None else (
            cls.PRODUCTION_QUOTA if production else cls.SANDBOX_QUOTA)
        if rate <= 0:
            raise ValueError(f"the SES maximum send rate must be positive, got {rate}")
        if quota < 0:
            raise ValueError(f"the SES daily quota must be zero or more, got {quota}")
        return cls(production_access=production, max_send_rate=float(rate), max_24_hour_send=int(quota))


class SesSendRateExceeded(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Maximum sending rate exceeded.")


class SesDailyQuotaExceeded(JsonRESTError):
    code = 400

    def __init__(self) -> None:
        super().__init__("LimitExceededException", "Daily message quota exceeded.")


class SesRecipientNotVerified(JsonRESTError):
    code = 400

    def __init__(self, addresses: list[str], region: str) -> None:
        super().__init__(
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in region "
            f"{region.upper()}: {', '.join(addresses)}",
        )


# SES: "the maximum number of emails that SES can accept from your account each second. You can
# exceed this limit for short bursts, but not for a sustained period of time." AWS publishes no burst
# size. The bucket holds two seconds of the rate: a short burst above the rate passes, a sustained one
# is refused within two seconds. It is also what any per-second admission (SES's own wording, and the
# workflow's pacing windows, docs/PACING.md) can need at a window edge: a full second's mails at the
# end of one second and the next second's at its start.
BURST_SECONDS = 2.0


class SesSendQuota:
    """The account's send rate (a token bucket of BURST_SECONDS of tokens) and rolling 24-hour quota,
    on the runtime's clock (`time_scale`: real seconds per AWS second)."""

    def __init__(self, account: SesAccount, *, time_scale: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.account = account
        self._scale = time_scale
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self._capacity = max(account.max_send_rate * BURST_SECONDS, 1.0)
        self._refilled_at = clock()
        self._window: deque[tuple[float, int]] = deque()  # (real time, recipients)
        self._sent_in_window = 0
        self.throttled = 0
        self.over_quota = 0

    def _aws_seconds_since(self, then: float, now: float) -> float:
        return (now - then) / self._scale

    def _expire(self, now: float) -> None:
        while self._window and self._aws_seconds_since(self._window[0][0], now) >= DAY_SECONDS:
            self._sent_in_window -= self._window.popleft()[1]

    def age(self, aws_seconds: float) -> None:
        """Let `aws_seconds` of the account's clock pass for the rolling window at once (tests: the
        24 hours after a spent quota, without an Express execution outliving its 5 minutes)."""
        with self._lock:
            shift = aws_seconds * self._scale
            self._window = deque((at - shift, count) for at, count in self._window)

    def sent_last_24_hours(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return self._sent_in_window

    def admit(self, recipients: int) -> None:
        """Count a mail to `recipients` addresses, or raise the error SES answers with."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if self._sent_in_window >= self.account.max_24_hour_send:
                self.over_quota += 1
                raise SesDailyQuotaExceeded()
            elapsed = self._aws_seconds_since(self._refilled_at, now)
            self._tokens = min(self._capacity, self._tokens + elapsed * self.account.max_send_rate)
            self._refilled_at = now
            if self._tokens < 1.0:
                self.throttled += 1
                raise SesSendRateExceeded()
            self._tokens -= recipients
            self._window.append((now, recipients))
            self._sent_in_window += recipients

    def account_json(self) -> dict[str, Any]:
        """SESv2 GetAccount's answer."""
        return {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": self.account.production_access,
            "SendQuota": {
                "Max24HourSend": float(self.account.max_24_hour_send),
                "MaxSendRate": float(self.account.max_send_rate),
                "SentLast24Hours": float(self.sent_last_24_hours()),
            },
            "SendingEnabled": True,
            "SuppressionAttributes": {"SuppressedReasons": []},
        }


def _recipients(request: dict[str, Any]) -> list[str]:
    destination = request.get("Destination") or {}
    return [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(key) or []]


def _address_of(value: str) -> str:
    """`Name <a@b>` → `a@b`, as SES reads a display-name address."""
    return value[value.rfind("<") + 1:value.rfind(">")] if "<" in value and ">" in value else value


def install_ses(patches: Patches, quota: SesSendQuota) -> None:
    """Seams `sesv2_send_email_quotas`, `sesv2_get_account`: the sandbox, the rate, the daily quota.

    Installed inside the runtime's SES capture, so injected faults never spend the quota, and inside
    IAM enforcement, which AWS evaluates first.
    """
    original = SESV2Response.send_email

    def send_email(self: SESV2Response) -> str:
        request = json.loads(self.body)
        recipients = _recipients(request)
        if not quota.account.production_access:
            core = self.sesv2_backend.core_backend
            unverified = [
                a for a in map(_address_of, recipients)
                if not a.lower().endswith("@" + names.SES_SIMULATOR_DOMAIN) and not core._is_verified_address(a)
            ]
            if unverified:
                raise SesRecipientNotVerified(unverified, self.region)
        quota.admit(max(1, len(recipients)))
        return original(self)

    def get_account(self: SESV2Response) -> str:
        return json.dumps(quota.account_json())

    patches.replace(SESV2Response, "send_email", send_email)
    patches.add(SESV2Response, "get_account", get_account)
    patches.replace(sesv2_urls, "url_paths", {**sesv2_urls.url_paths, "{0}/v2/email/account$": SESV2Response.dispatch})


def message_bytes(message: str, attributes: dict[str, Any] | None) -> int:
    """An SNS message's size as AWS counts it: the body plus each attribute's name, type and value."""
    size = len(message.encode("utf-8"))
    for name, attribute in (attributes or {}).items():
        size += len(name.encode("utf-8"))
        if isinstance(attribute, dict):
            size += len(str(attribute.get("DataType", attribute.get("Type", ""))).encode("utf-8"))
            value = attribute.get("StringValue", attribute.get("Value", attribute.get("BinaryValue", "")))
            size += len(value) if isinstance(value, bytes) else len(str(value).encode("utf-8"))
    return size


def install_sns(patches: Patches) -> None:
    """Seam `sns_publish_size`: moto counts characters of the body; SNS counts bytes, attributes included."""
    original = SNSBackend.publish

    def publish(self: SNSBackend, message: str, *args: Any, **kwargs: Any) -> str:
        attributes = kwargs.get("message_attributes")
        if not kwargs.get("phone_number") and message_bytes(message, attributes) > SNS_MESSAGE_BYTES:
            raise SnsInvalidParameter("Invalid parameter: Message too long")
        return original(self, message, *args, **kwargs)

    patches.replace(SNSBackend, "publish", publish)


class ExecutionInputTooLarge(JsonRESTError):
    def __init__(self, size: int) -> None:
        super().__init__(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have "
            f"length less than or equal to {STATES_PAYLOAD_BYTES} (the input is {size} bytes)",
        )


def check_execution_input(execution_input: str | None) -> None:
    size = len((execution_input or "").encode("utf-8"))
    if size > STATES_PAYLOAD_BYTES:
        raise ExecutionInputTooLarge(size)


def install_step_functions(patches: Patches, *, time_scale: float) -> None:
    """Seams `sfn_execution_input_size`, `sfn_express_time_limit`.

    Every execution (StartExecution, StartSyncExecution, the Pipe's) is built by `Execution.__init__`:
    its input is checked there. An Express program gets AWS's 5 minutes (on the runtime's clock) unless
    its definition sets a shorter `TimeoutSeconds`.
    """
    original_init = Execution.__init__

    def execution_init(self: Execution, *args: Any, **kwargs: Any) -> None:
        check_execution_input(kwargs.get("input_data"))
        original_init(self, *args, **kwargs)

    express_limit = EXPRESS_MAX_SECONDS * time_scale

    def is_express(env: Any) -> bool:
        # moto builds every execution's environment as STANDARD (its StateMachine.sm_type is fixed);
        # the state machine's declared type is the truth.
        arn = env.states.context_object.context_object_data["StateMachine"]["Id"]
        account, region = arn.split(":")[4], arn.split(":")[3]
        try:
            return str(stepfunctions_parser_backends[account][region].describe_state_machine(arn).type) == "EXPRESS"
        except Exception:  # a state machine deleted while it runs: AWS keeps its limits; so do we
            return env.execution_type == StateMachineType.EXPRESS

    def program_eval(self: Program, env: Any) -> None:
        timeout = self.timeout_seconds.timeout_seconds * time_scale if self.timeout_seconds else None
        if not env.is_frame() and is_express(env):
            timeout = express_limit if timeout is None else min(timeout, express_limit)
        env.next_state_name = self.start_at.start_at_name
        worker = threading.Thread(target=super(Program, self).eval, args=(env,), daemon=True)
        worker.start()
        worker.join(timeout=timeout)
        if worker.is_alive():
            env.set_timed_out()

    patches.replace(Execution, "__init__", execution_init)
    patches.replace(Program, "eval", program_eval)
