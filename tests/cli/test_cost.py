"""The cost model: figures recomputed by hand from prices.json, the CLI's output and its inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ordermail import cost
from tasks import names

from .conftest import main

PRICES = json.loads((Path(cost.__file__).with_name("prices.json")).read_text(encoding="utf-8"))


def test_prices_file_carries_its_date_source_and_the_design_table() -> None:
    assert PRICES["as_of"] and "DESIGN.md" in PRICES["source"]
    assert PRICES["ses"]["per_1000_mails"] == 0.10
    assert PRICES["stepfunctions_express"] == {"per_million_requests": 1.00, "per_gb_second": 0.00001667,
                                               "memory_chunk_mb": 64, "duration_granularity_ms": 100}
    assert PRICES["lambda"]["per_gb_second_arm64"] == 0.0000133334
    assert PRICES["cloudwatch"]["dashboard_per_month"] == 3.00
    assert PRICES["always_free"]["cloudwatch"]["custom_metrics"] == 10


def test_step_functions_line_by_hand() -> None:
    result = cost.estimate(per_day=2000, free_tier=False)
    counts = result["counts"]["per_email"]
    # 450 ms → billed 500 ms; 64 MB = 0.0625 GB.
    assert counts["stepfunctions_duration_ms"] == 450
    per_mail = 1.00 / 1e6 + 0.0625 * 0.5 * 0.00001667
    assert result["per_1000_mails_by_service_usd"]["stepfunctions"] == pytest.approx(per_mail * 1000)
    assert result["monthly"]["variable_usd"]["stepfunctions"] == pytest.approx(per_mail * 60_000)


def test_ledger_storage_keeps_delivered_orders_for_the_delivered_retention_only() -> None:
    """Storage + PITR by hand: 2,000 items a day of 1 KB, kept 30 days when delivered, 90 otherwise."""
    def storage(share: float) -> float:
        counts = json.loads(json.dumps(cost.DEFAULT_COUNTS))
        counts["per_email"].update(ledger_item_kb=1, delivered_share=share, dynamodb_write_units=0,
                                   dynamodb_read_units=0)
        return cost.estimate(counts, per_day=2000)["monthly"]["variable_usd"]["dynamodb"]

    per_item_day = 1 / 1024**2 * (0.25 + 0.20)  # GB-month price of storage plus PITR, per KB
    assert storage(1.0) == pytest.approx(2000 * 30 * per_item_day)
    assert storage(0.0) == pytest.approx(2000 * 90 * per_item_day)
    assert cost.DEFAULT_COUNTS["fixed"]["delivered_retention_days"] == names.DELIVERED_RETENTION_DAYS == 30


def test_lambda_line_by_hand_uses_the_arm64_price() -> None:
    result = cost.estimate(per_day=2000)
    functions = result["counts"]["per_email"]["lambda"]
    expected = sum(f["invocations"] * (0.20 / 1e6 + (f["memory_mb"] / 1024) * (f["duration_ms"] / 1000)
                                      * 0.0000133334) for f in functions.values())
    assert result["per_1000_mails_by_service_usd"]["lambda"] == pytest.approx(expected * 1000)


def test_ses_floor_and_the_required_keys() -> None:
    result = cost.estimate(per_day=2000)
    assert result["per_1000_mails_by_service_usd"]["ses"] == pytest.approx(0.10)
    assert result["ses_floor_per_1000_usd"] == 0.10
    assert result["per_1000_mails_usd"] > result["ses_floor_per_1000_usd"]
    assert result["reference"]["ci_ts_claim_monthly_usd_at_2000_per_day"] == 9.26
    assert result["reference"]["ses_only_monthly_usd_at_2000_per_day"] == pytest.approx(6.00)
    assert result["monthly_usd_at_2000_per_day"] < result["monthly_usd_at_2000_per_day_list_price"]


def test_fixed_costs_with_and_without_cloudwatch_free_tier() -> None:
    list_price = cost.estimate(free_tier=False)["monthly"]["fixed_usd"]
    assert list_price["cloudwatch_dashboard"] == pytest.approx(3.00)
    assert cost.ALARMS == 10  # workflow/observability.py; update both when an alarm is added
    assert list_price["cloudwatch_alarms"] == pytest.approx(10 * 0.10)
    assert list_price["cloudwatch_metrics"] == pytest.approx(len(cost.CUSTOM_METRICS) * 0.30)
    free = cost.estimate(free_tier=True)["monthly"]["fixed_usd"]
    assert free["cloudwatch_dashboard"] == 0  # 3 dashboards free
    assert free["cloudwatch_alarms"] == 0  # 10 alarms free, and the stack has ten
    assert free["cloudwatch_metrics"] == pytest.approx((len(cost.CUSTOM_METRICS) - 10) * 0.30)
    assert "OrderToDeliveryLatency" in cost.CUSTOM_METRICS and "InvalidOrders" in cost.CUSTOM_METRICS
    assert free["kms"] == list_price["kms"] >= 1.00  # the customer key is never free


def test_totals_are_variable_plus_fixed_for_every_scenario() -> None:
    result = cost.estimate(per_day=5000)
    assert [s["per_day"] for s in result["scenarios"]] == [2000, 20000, 200000, 5000]
    for scenario in result["scenarios"]:
        assert scenario["total_usd"] == pytest.approx(scenario["variable_usd"] + scenario["fixed_usd"])
        assert scenario["total_usd_list_price"] >= scenario["total_usd"]
    at_2000 = result["scenarios"][0]
    assert result["monthly_usd_at_2000_per_day"] == pytest.approx(at_2000["total_usd"])
    assert result["monthly_usd_at_2000_per_day_list_price"] == pytest.approx(at_2000["total_usd_list_price"])


def test_free_log_allowance_covers_small_volumes_only() -> None:
    small = cost.estimate(per_day=2000, free_tier=True)["monthly"]["variable_usd"]["cloudwatch_logs"]
    big = cost.estimate(per_day=200_000, free_tier=True)["monthly"]["variable_usd"]["cloudwatch_logs"]
    assert small == 0
    gb = 200_000 * 30 * cost.DEFAULT_COUNTS["per_email"]["log_bytes"] / 1024**3
    assert big == pytest.approx((gb - 5) * 0.50 + max(0, gb * 0.15 - 5) * 0.03)


def test_xray_sampling_rule() -> None:
    assert cost.xray_recorded_per_month(86_400 / 2) == pytest.approx(86_400 / 2 * 30)  # under 1/s: all
    assert cost.xray_recorded_per_month(86_400 * 11) == pytest.approx((1 + 0.05 * 10) * 86_400 * 30)
    # the stack's rule: no reservoir, a fixed share of every execution
    assert cost.xray_recorded_per_month(2_000, reservoir_per_s=0, fixed_rate=0.05) == pytest.approx(2_000 * 0.05 * 30)


def test_the_default_counts_price_xray_under_the_stacks_sampling_rule() -> None:
    estimate = cost.estimate(per_day=2000)
    assert estimate["counts"]["fixed"]["xray_fixed_rate"] == names.TRACE_SAMPLE_RATE
    traces = 2000 * 30 * 1 * names.TRACE_SAMPLE_RATE
    xray = cost.monthly(estimate["counts"], 2000, cost.load_prices(), free_tier=True)
    assert xray["variable_usd"]["xray"] == pytest.approx(traces * 5.00 / 1e6)


def test_measured_counts_override_defaults() -> None:
    base = cost.estimate(per_day=2000)
    measured = cost.estimate({"per_email": {"dynamodb_write_units": 4}, "source": "bench"}, per_day=2000)
    assert measured["counts"]["source"] == "bench"
    saved = (12 - 4) * 0.625 / 1e6 * 1000
    assert base["per_1000_mails_usd"] - measured["per_1000_mails_usd"] == pytest.approx(saved)
    flat = cost.estimate({"dynamodb_write_units": 4}, per_day=2000)  # a flat per-e-mail dict works too
    assert flat["per_1000_mails_usd"] == pytest.approx(measured["per_1000_mails_usd"])


@pytest.mark.parametrize("counts", [{"per_email": {"dynamo_writes": 1}}, {"per_email": {"sqs_requests": -1}},
                                    {"per_email": {"lambda": {"validate": {"architecture": "sparc"}}}},
                                    {"bogus": {}}])
def test_bad_counts_are_rejected(counts: dict) -> None:
    with pytest.raises(cost.CountsError):
        cost.estimate(counts)


def test_cli_json_has_the_benchmark_keys(capsys) -> None:
    assert main(["cost", "--per-day", "2000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("per_1000_mails_usd", "ses_floor_per_1000_usd", "monthly_usd_at_2000_per_day",
                "monthly_usd_at_2000_per_day_list_price", "scenarios", "monthly"):
        assert key in result
    assert result["per_1000_mails_usd"] == pytest.approx(cost.estimate()["per_1000_mails_usd"])


def test_cli_human_output(capsys) -> None:
    assert main(["cost", "--per-day", "20000"]) == 0
    out = capsys.readouterr().out
    for text in ("Per 1,000 mails", "2,000/day", "20,000/day", "200,000/day", "$9.26", "SES-only floor",
                 "Step Functions Express", "list price"):
        assert text in out


def test_cli_counts_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "counts.json"
    path.write_text(json.dumps({"counts": {"per_email": {"stepfunctions_duration_ms": 1001}, "source": "bench"}}))
    assert main(["cost", "--counts", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["counts"]["per_email"]["stepfunctions_duration_ms"] == 1001
    billed = math.ceil(1001 / 100) * 100 / 1000
    assert result["per_1000_mails_by_service_usd"]["stepfunctions"] == pytest.approx(
        (1.00 / 1e6 + 0.0625 * billed * 0.00001667) * 1000)


@pytest.mark.parametrize(("content", "message"), [("{", "invalid JSON"), ('{"per_email": {"nope": 1}}', "unknown count")])
def test_cli_bad_counts_file_exits_2(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "counts.json"
    path.write_text(content)
    assert main(["cost", "--counts", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_cli_missing_counts_file_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["cost", "--counts", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
