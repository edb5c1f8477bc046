"""`ordermail demo`: the offline run a developer starts first."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .conftest import base_env


def test_demo_runs_the_samples_in_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "ordermail.cli", "demo", "--json"], capture_output=True,
                            text=True, env=base_env(), cwd=tmp_path, timeout=180, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["ok"] is True
    statuses = {row["orderId"]: row["status"] for row in report["orders"]}
    assert statuses["demo-1006"] == "INVALID" and statuses["demo-1007"] == "BOUNCED"
    assert statuses["demo-1008"] == "COMPLAINED"
    # One order came in over the signed HTTP intake, one as an EventBridge event (samples.Sample.via).
    assert statuses["demo-1002"] == statuses["demo-1003"] == "DELIVERED"
    assert Path(report["outbox"]) == tmp_path / "outbox"
    assert report["mails"] == len(list((tmp_path / "outbox").glob("*.eml"))) == 8  # 9 orders, one invalid
    assert elapsed < 60, f"the demo took {elapsed:.0f} s"
    # The status events the orders emitted (docs/EVENTS.md), one per transition, without addresses.
    events = {(d["orderId"], d["status"]): d for d in report["statusEvents"]}
    assert len(events) == len(report["statusEvents"])
    assert {("demo-1001", "SENT"), ("demo-1001", "DELIVERED"), ("demo-1006", "INVALID")} <= set(events)
    assert events[("demo-1007", "BOUNCED")]["bounceType"] == "Permanent"
    assert "@" not in json.dumps(report["statusEvents"])


def test_demo_human_output(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "ordermail.cli", "demo"], capture_output=True, text=True,
                            env=base_env(), cwd=tmp_path, timeout=180, check=False)
    assert "Sample orders" in result.stdout and "History of order demo-1005" in result.stdout
    said = result.stdout + result.stderr
    assert "1 through the HTTP intake (SigV4-signed POST): demo-1002" in said
    assert "1 through EventBridge (PutEvents, OrderConfirmed): demo-1003" in said
    assert str(tmp_path / "outbox") in result.stdout
    assert '"level"' not in result.stdout  # function logs go to the log file, not over the tables
