"""The benchmark's settings (light: importing it does not import moto)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks import names


@dataclass(frozen=True)
class BenchConfig:
    day: int = 2_000
    burst: int = 10_000
    compare: int = 300
    day_rate: float = 3.0  # orders/s arriving during the day run (a Poisson process), about half the capacity
    seed: int = 20_261_123
    time_scale: float = 0.02
    pipe_workers: int = 4
    ses_throttle_rate: float = 0.10
    ddb_throttle_rate: float = 0.02
    lambda_error_rate: float = 0.01
    sns_duplicate_rate: float = 0.03
    reject_every: int = 200  # one SES MessageRejected (a permanent failure → FAILED) per this many orders
    settle_timeout: float = 900.0
    handler_log_level: str = names.FUNCTION_LOG_LEVEL  # as deployed (context functionLogLevel)
    instruments: bool = True  # history-derived counts, capacity meter, log capture
    # Peaks (flash.py): orders in the flash sale (0: skip it), against this SES rate with this many
    # executions at once; and orders over the daily quota (0: skip that run).
    flash_orders: int = 1_000
    flash_rate: int = 5
    flash_concurrency: int = 20
    quota_orders: int = 60
    smoke: bool = False

    def faults(self, seed_offset: int = 0) -> Any:
        from ordermail.emulator import Faults  # imported late: the emulator pulls in moto

        return Faults(
            ses_throttle_rate=self.ses_throttle_rate,
            ddb_throttle_rate=self.ddb_throttle_rate,
            lambda_error_rate=self.lambda_error_rate,
            sns_duplicate_rate=self.sns_duplicate_rate,
            seed=self.seed + seed_offset,
        )
