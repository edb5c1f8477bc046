"""`ordermail local` in a subprocess, driven only through the CLI (subprocesses) and plain boto3.

One server per session (its startup is the slow part); tests use unique order ids so they do not
depend on each other. Polls with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from tasks import names

REPO = Path(__file__).resolve().parents[2]
SIM = names.SES_SIMULATOR_DOMAIN
START_TIMEOUT = 90.0
SETTLE_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1", "COLUMNS": "200",
    })
    return env


def order(order_id: str, email: str = f"success@{SIM}", **overrides: Any) -> dict[str, Any]:
    body = {
        "orderId": order_id, "customerEmail": email, "customerName": "Zoë Ångström 山田",
        "items": [{"name": "Café crème ☕", "quantity": 2, "unitPrice": "12.50"}], "total": "25.00",
        "currency": "EUR", "timestamp": "2026-03-14T09:26:53+01:00", "metadata": {"source": "e2e"},
    }
    body.update(overrides)
    return body


def new_id(prefix: str) -> str:
    return f"e2e-{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Server:
    """A running `ordermail local` and the ways to talk to it."""

    endpoint: str
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def outbox(self) -> Path:
        return self.workdir / "outbox"

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                                                 aws_access_key_id="testing", aws_secret_access_key="testing")
        return self.clients[service]

    def cli(self, *args: str, stdin: str | None = None, endpoint: str | None = "default",
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = base_env()
        if endpoint == "default":
            env["AWS_ENDPOINT_URL"] = self.endpoint
        elif endpoint is not None:
            env["AWS_ENDPOINT_URL"] = endpoint
        return subprocess.run([sys.executable, "-m", "ordermail.cli", *args], input=stdin, capture_output=True,
                              text=True, env=env, cwd=self.workdir, timeout=timeout, check=False)

    def cli_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.returncode == 0, f"ordermail {' '.join(args)} → {result.returncode}: {result.stderr}"
        return json.loads(result.stdout)

    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=names.stack_name("dev"))["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    def item(self, order_id: str) -> dict[str, Any] | None:
        raw = self.client("dynamodb").get_item(TableName=self.outputs()["LedgerTableName"],
                                               Key={"orderId": {"S": order_id}}, ConsistentRead=True).get("Item")
        return {k: TypeDeserializer().deserialize(v) for k, v in raw.items()} if raw else None

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = SETTLE_TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"the local server died while waiting for {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.1)

    def wait_status(self, order_id: str, *statuses: str, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            item = self.item(order_id)
            if item and item.get("status") in statuses:
                return item
            if self.process.poll() is not None:
                pytest.fail(f"the local server died while waiting for {order_id}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"order {order_id} is {item and item.get('status')}, expected {'/'.join(statuses)} "
                            f"within {timeout:.0f} s")
            time.sleep(0.1)

    def mails_for(self, order_id: str) -> list[Path]:
        return sorted(self.outbox.glob(f"{order_id}-*.eml")) if self.outbox.is_dir() else []

    def publish(self, *orders: dict[str, Any]) -> None:
        path = self.workdir / f"orders-{uuid.uuid4().hex[:8]}.jsonl"
        path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in orders) + "\n", encoding="utf-8")
        result = self.cli("publish", str(path))
        assert result.returncode == 0, result.stderr

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(workdir: Path, *extra: str) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "server.log"
    log = log_path.open("wb")  # a file, not a pipe: an unread pipe would block the server
    process = subprocess.Popen(
        [sys.executable, "-m", "ordermail.cli", "local", "--port", str(port), "--outbox", str(workdir / "outbox"),
         *extra],
        stdout=log, stderr=subprocess.STDOUT, env=base_env(), cwd=workdir,
    )
    server = Server(endpoint=f"http://127.0.0.1:{port}", workdir=workdir, process=process, log_path=log_path)

    def answers() -> bool:
        try:
            return bool(server.outputs())
        except Exception:
            return False

    try:
        server.wait_for("the local endpoint to answer", answers, timeout=START_TIMEOUT)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> int | None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    return server.process.returncode


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Three receives before the DLQ: short for the poison-message test, yet a duplicate that meets
    # the claim still held under load (ClaimHeld) has room to be retried and recorded.
    running = start_server(tmp_path_factory.mktemp("ordermail-local"), "--max-receive-count", "3", "--iam-report")
    yield running
    code = stop_server(running)
    assert code == 0, f"`ordermail local` exited {code} on SIGTERM:\n{running.log_tail()}"
    # Every e2e path ran under IAM enforcement without one denied call (the report prints at exit).
    assert "  0 denied (action, resource) pair(s)" in running.log_tail(200), running.log_tail(200)
