"""The benchmark's pure parts: the workload mix, the Express log-size model, the log capture."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ordermail.bench.instruments import LOG_EVENT_OVERHEAD_BYTES, LogCapture, express_log_sizes, percentiles
from ordermail.bench.workload import INVALID_VARIANTS, build
from tasks.domain.order import Rejection, validate_order


def test_workload_has_the_issues_mix_and_is_repeatable() -> None:
    workload = build("day", 2_000, seed=7)
    assert workload.counts["invalid"] == 20
    assert workload.counts["bounce"] == 40
    assert workload.counts["complaint"] == 4
    assert workload.counts["duplicates"] == 100
    assert 0 < workload.counts["concurrent_duplicates"] < 100
    assert len({item.key for item in workload.inputs}) == 2_000
    again = build("day", 2_000, seed=7)
    assert [item.body for item in again.inputs] == [item.body for item in workload.inputs]
    currencies = Counter(json.loads(item.body)["currency"] for item in workload.inputs if item.kind != "invalid")
    assert len(currencies) >= 15


def test_every_input_validates_as_the_workload_expects() -> None:
    workload = build("check", 1_700, seed=11)  # 17 invalid inputs: every variant at least once
    reasons = set()
    for item in workload.inputs:
        bodies = [item.body, *[repeat.body for repeat in item.repeats]]
        for body in bodies:
            if item.kind == "invalid":
                with pytest.raises(Rejection) as caught:
                    validate_order(body, default_currency="USD")
                assert caught.value.reason.value == item.invalid_reason
                assert (caught.value.order_id or None) == item.order_id
                reasons.add(item.invalid_reason)
            else:
                assert validate_order(body, default_currency="USD").order_id == item.key
    assert len(reasons) >= INVALID_VARIANTS - 3  # some variants share a reason code


def test_express_log_sizes_follow_the_log_levels() -> None:
    history = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "timestamp": "2026-03-14T09:26:53.000Z",
         "executionStartedEventDetails": {"input": "x" * 1000, "inputDetails": {"truncated": False}, "roleArn": "r"}},
        {"id": 2, "previousEventId": 1, "type": "TaskFailed", "timestamp": "2026-03-14T09:26:53.100Z",
         "taskFailedEventDetails": {"error": "SesV2.TooManyRequestsException", "cause": "throttled"}},
        {"id": 3, "previousEventId": 2, "type": "ExecutionSucceeded", "timestamp": "2026-03-14T09:26:53.200Z",
         "executionSucceededEventDetails": {"output": "y" * 500, "outputDetails": {"truncated": False}}},
    ]
    sizes = express_log_sizes(history, "arn:aws:states:us-east-1:123456789012:express:sm:name:id")
    assert sizes["ALL+data"][0] == 3 and sizes["ALL"][0] == 3
    assert sizes["ALL+data"][1] - sizes["ALL"][1] > 1500  # the payloads
    assert sizes["ERROR+data"][0] == 1 and sizes["ERROR"][0] == 1  # only TaskFailed
    assert sizes["FATAL"] == (0, 0) and sizes["OFF"] == (0, 0)
    assert sizes["ERROR"][1] > LOG_EVENT_OVERHEAD_BYTES


def test_log_capture_counts_lines_and_bytes() -> None:
    capture = LogCapture()
    capture.write('{"level":"INFO"}\n')
    capture.write("partial")
    capture.write(" line\nnext ünïcode\n")
    lines, size = capture.snapshot()
    assert lines == 3
    assert size == len('{"level":"INFO"}') + len("partial line") + len("next ünïcode".encode())


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    result = percentiles(values)
    assert (result["p50"], result["p95"], result["p99"], result["max"]) == (50.0, 95.0, 99.0, 100.0)
    assert percentiles([]) == {"count": 0}


def test_the_flash_sale_targets_follow_issue_12() -> None:
    from ordermail.bench import flash

    base = {"orders": 1000, "messages": 1050, "mails": 990, "send_rate_per_s": 5, "pipe_concurrency": 20,
            "dead_lettered": 0, "lost": 0, "duplicate_mails": 0, "throttled_sends": 9, "send_calls": 1000,
            "throttled_share": 0.009, "drain_s": 220.0, "ideal_drain_s": 198.0, "ideal_drain_orders_s": 200.0,
            "drain_ratio": 220.0 / 198.0, "invariants_ok": True, "statuses": {}}
    assert [row["met"] for row in flash.targets({"flash_sale": base})] == [True, True, True]
    worse = {**base, "dead_lettered": 1, "throttled_sends": 11, "throttled_share": 0.011, "drain_ratio": 1.16}
    assert [row["met"] for row in flash.targets({"flash_sale": worse})] == [False, False, False]
    quota = {"orders": 60, "mails": 58, "daily_quota": 40, "time_scale": 0.003, "window_real_s": 259.2,
             "sent_in_first_window": 40, "sent_after_the_window": 18, "refused_over_quota": 30, "failed": 0,
             "dead_lettered": 0, "lost": 0, "duplicate_mails": 0, "last_mail_after_s": 270.0, "invariants_ok": True}
    assert [row["met"] for row in flash.targets({"quota_wait": quota})] == [True]
    assert [row["met"] for row in flash.targets({"quota_wait": {**quota, "sent_after_the_window": 0}})] == [False]
    assert "quota_wait" in "".join(flash.markdown({"flash_sale": base, "quota_wait": quota}))
