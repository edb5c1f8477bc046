"""The demo's sample orders, and how `ordermail local`/`demo` options become RuntimeOptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordermail import samples
from ordermail.cli import build_parser
from ordermail.cli.commands.local import runtime_options
from tasks.domain.order import Reason, Rejection, validate_order

from .conftest import main


@pytest.mark.parametrize("sample", samples.SAMPLES, ids=lambda s: s.order_id)
def test_samples_validate_as_the_workflow_will(sample: samples.Sample) -> None:
    if sample.expect == "INVALID":
        with pytest.raises(Rejection) as rejected:
            validate_order(sample.body, default_currency="USD")
        assert rejected.value.reason == Reason.TOTAL_MISMATCH
    else:
        assert validate_order(sample.body, default_currency="USD").order_id == sample.order_id


def test_samples_cover_what_the_demo_promises() -> None:
    currencies = {s.order["currency"] for s in samples.SAMPLES}
    assert {"USD", "EUR", "JPY", "KWD"} <= currencies
    expected = {s.expect for s in samples.SAMPLES}
    assert {"DELIVERED", "INVALID", "BOUNCED", "COMPLAINED"} <= expected
    text = "".join(s.body for s in samples.SAMPLES)
    for script_sample in ("é", "山", "ف", "ד", "☕"):  # accents, CJK, Arabic, Hebrew, emoji
        assert script_sample in text
    assert {s.via for s in samples.SAMPLES} == {"sns", "api", "eventbridge"}  # the demo uses every way in
    bodies = samples.publish_bodies()
    assert len(bodies) == len(samples.SAMPLES) + 1 and bodies[-1] == samples.SAMPLES[4].body


def test_local_options_become_runtime_options() -> None:
    args = build_parser().parse_args([
        "--env", "test", "local", "--port", "0", "--outbox", "mails", "--time-scale", "0.05",
        "--max-receive-count", "2", "--fault-ses-reject-rate", "0.5", "--fault-ddb-throttle-rate", "0.1",
        "--fault-seed", "7",
    ])
    options = runtime_options(args, port=None, host="127.0.0.1")
    assert options.env == "test" and options.port is None and options.outbox_dir == Path("mails")
    assert options.time_scale == 0.05 and options.max_receive_count == 2
    assert options.faults.ses_reject_rate == 0.5 and options.faults.ddb_throttle_rate == 0.1
    assert options.faults.seed == 7 and options.faults.lambda_error_rate == 0


def test_ses_account_options_become_runtime_options() -> None:
    args = build_parser().parse_args(["local", "--ses-max-send-rate", "2.5", "--ses-daily-quota", "500",
                                      "--ses-production-access", "--pipe-concurrency", "20"])
    options = runtime_options(args, port=None)
    assert (options.ses_max_send_rate, options.ses_daily_quota, options.ses_production_access) == (2.5, 500, True)
    assert options.pipe_workers == 20
    unset = runtime_options(build_parser().parse_args(["local"]), port=None)
    assert (unset.ses_max_send_rate, unset.ses_daily_quota, unset.ses_production_access) == (None, None, None)


@pytest.mark.parametrize("argv", [["local", "--fault-ses-reject-rate", "1.5"], ["local", "--time-scale", "0"],
                                  ["demo", "--fault-lambda-error-rate", "-1"], ["local", "--ses-max-send-rate", "0"],
                                  ["local", "--ses-daily-quota", "-1"], ["local", "--pipe-concurrency", "0"]])
def test_bad_runtime_options_exit_2_before_starting(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_local_on_a_taken_port_is_one_line_and_exit_1(capsys) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["local", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err


def test_customer_lookup_options_become_runtime_options() -> None:
    sample = runtime_options(build_parser().parse_args(["local", "--sample-users"]), port=None)
    named = runtime_options(build_parser().parse_args(["local", "--users-table", "shop-users"]), port=None)
    plain = runtime_options(build_parser().parse_args(["local"]), port=None)
    assert (sample.sample_users, sample.users_table) == (True, None)
    assert (named.sample_users, named.users_table) == (False, "shop-users")
    assert (plain.sample_users, plain.users_table) == (False, None)
    with pytest.raises(SystemExit):  # one or the other
        build_parser().parse_args(["local", "--sample-users", "--users-table", "x"])


def test_lookup_sample_needs_the_lookup() -> None:
    with pytest.raises(Rejection) as caught:
        validate_order(samples.LOOKUP_SAMPLE.body, default_currency="USD")
    assert caught.value.reason is Reason.MISSING_FIELD
    assert samples.LOOKUP_SAMPLE not in samples.SAMPLES  # the demo runs without a users table
