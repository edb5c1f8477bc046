"""`ordermail outputs`, global options, and the error paths: one line on stderr, documented codes."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from ordermail.cli import build_parser
from ordermail.cli.errors import UsageError
from ordermail.cli.timeutil import iso, parse_since
from tasks import names

from .conftest import Stack, create_stack, main


def test_outputs_json_has_every_contract_key(stack: Stack, capsys) -> None:
    assert main(["outputs", "--json"]) == 0
    outputs = json.loads(capsys.readouterr().out)
    assert set(names.STACK_OUTPUT_KEYS) <= set(outputs)
    assert outputs == stack.outputs


def test_outputs_table(stack: Stack, capsys) -> None:
    assert main(["outputs"]) == 0
    out = capsys.readouterr().out
    assert "OrderMail-dev" in out and stack.outputs["OrdersQueueUrl"] in out


def test_global_options_before_or_after_the_subcommand(aws: None, capsys) -> None:
    create_stack("test")
    assert main(["--env", "test", "outputs", "--json"]) == 0
    assert "ordermail-test-ledger" in capsys.readouterr().out
    assert main(["outputs", "--env", "test", "--json"]) == 0
    assert "ordermail-test-ledger" in capsys.readouterr().out
    assert main(["--json", "outputs", "--env", "test"]) == 0
    assert json.loads(capsys.readouterr().out)["LedgerTableName"] == "ordermail-test-ledger"


def test_missing_stack_is_one_line_and_exit_1(aws: None, capsys) -> None:
    assert main(["status", "o-1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "stack OrderMail-dev not found" in err and "cdk deploy -c env=dev" in err
    assert "Traceback" not in err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("argv", [["outputs"], ["status", "o-1"], ["replay", "o-1"], ["redrive-dlq"]])
def test_unreachable_endpoint_is_one_line_and_exit_1(capsys, argv: list[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    assert main(["--endpoint-url", url, *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot reach {url}" in err and "ordermail local" in err


def test_endpoint_from_the_environment(monkeypatch, capsys) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    assert main(["outputs"]) == 1
    assert f"cannot reach {url}" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["nope"], ["status", "--env", "staging", "x"], ["status"],
                                  ["status", "x", "--status", "FAILED"], ["status", "--status", "LOST"],
                                  ["cost", "--per-day", "many"], ["cost", "--per-day", "0"],
                                  ["local", "--port", "99999"]])
def test_usage_errors_exit_2(aws: None, capsys, argv: list[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


def test_help_exits_0(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "local", "outputs", "publish", "status", "history", "replay", "resend", "redrive-dlq",
                    "cost"):
        assert command in out


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():  # type: ignore[attr-defined]
        assert sub.format_help(), name


def test_since_parsing() -> None:
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    assert parse_since("24h", reference=now) == now - timedelta(hours=24)
    assert parse_since("30m", reference=now) == now - timedelta(minutes=30)
    assert parse_since("7d", reference=now) == now - timedelta(days=7)
    assert parse_since("2026-03-01", reference=now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since("2026-03-01T10:00:00+01:00", reference=now) == datetime(2026, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("last tuesday")


def test_iso_matches_step_functions_entered_time() -> None:
    assert iso(datetime(2026, 3, 14, 9, 26, 53, 589_000, tzinfo=UTC)) == "2026-03-14T09:26:53.589Z"
