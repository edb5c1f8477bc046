"""Fixtures of the unit tests: a Lambda context, clean settings, no network, the ledger on moto."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tasks import names
from tasks.adapters.ledger import reset_ledger_cache
from tasks.observability import logger
from tasks.settings import reset_settings_cache
from tests.unit.helpers import SETTINGS_ENV, TABLE_NAME, FakeLambdaContext, create_ledger_table


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the documented defaults (no settings variable set, no cache)."""
    for key in SETTINGS_ENV:
        monkeypatch.delenv(key, raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never open a socket (moto intercepts boto3 before any connection)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("unit tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def ledger_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto DynamoDB client with the ledger table; handlers find it through LEDGER_TABLE_NAME."""
    with mock_aws():
        reset_ledger_cache()  # clients must be built inside the mock
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client)
        monkeypatch.setenv(names.ENV_LEDGER_TABLE, TABLE_NAME)
        yield client
    reset_ledger_cache()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (its handler holds the stdout of import time, not capsys'), at
    INFO: the level an operator may set (`-c functionLogLevel=INFO`), whose lines must carry no PII
    either; whatever level another test (a bench run) left the logger at is restored."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert hasattr(handler, "setStream")
    previous = handler.setStream(buffer)
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        yield buffer
    finally:
        handler.setStream(previous)
        logger.setLevel(level)
