"""The benchmark's CI smoke run: a few hundred orders with every fault injected, invariants only.

The bench is a tool, not a test (`make bench`); CI runs only this small version of it and asserts
no timing, only that nothing was lost or mailed twice and that the report has its shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ordermail.bench.cli import main


@pytest.mark.slow
def test_smoke_run_keeps_every_invariant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]

    report = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    assert report["invariants_ok"] is True
    day = report["day"]
    failed_checks = [check for check in day["checks"] if not check["ok"]]
    assert not failed_checks, failed_checks
    assert day["orders"] == 200
    assert day["lost"] == 0
    assert day["duplicate_mails"] == 0
    # every fault kind was exercised: FAILED orders (injected SES rejections) were replayed to SENT
    assert day["injected_ses_rejections"] >= 1
    assert day["replayed"] == day["failed_before_replay"]
    assert day["statuses"].get("DELIVERED", 0) > 0 and day["statuses"].get("INVALID", 0) == 2
    for key in ("orders", "lost", "duplicate_mails", "orders_per_s", "p99_ms"):
        assert key in day
    assert "throughput_ratio_vs_stock_moto" in report and "memory_growth_mb" in report
    for key in ("per_1000_mails_usd", "ses_floor_per_1000_usd", "monthly_usd_at_2000_per_day",
                "monthly_usd_at_2000_per_day_list_price"):
        assert isinstance(report["cost"][key], float)
    assert (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8").startswith("# ordermail benchmarks")
