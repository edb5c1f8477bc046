"""`ordermail smoke`, the post-deploy check, against the local runtime: it passes on a healthy stack,
and it fails, naming the order, when SES refuses a mail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.seams.faults import SesRejected

from .conftest import Server, base_env

CASES = ["success", "bounce", "complaint", "duplicate", "invalid"]


def _rows(stdout: str) -> dict[str, str]:
    """The table's rows by case: the first line of each row starts with the order id."""
    rows = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if cells[0].startswith("smoke-"):
            rows[cells[0].rsplit("-", 1)[1]] = line
    return rows


def test_smoke_passes_on_the_local_runtime(server: Server) -> None:
    result = server.cli("smoke", "--timeout", "90")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert list(rows) == CASES
    assert all(" ok " in row and "FAIL" not in row for row in rows.values()), result.stdout
    assert "5/5 ok" in result.stdout
    # What it reported, against the runtime's own evidence: the outbox and the ledger.
    report = server.cli_json("smoke", "--timeout", "90")
    assert report["ok"] is True and [row["case"] for row in report["orders"]] == CASES
    ids = {row["case"]: row["orderId"] for row in report["orders"]}
    assert all(order_id.startswith(report["prefix"]) for order_id in ids.values())
    for case in ("success", "bounce", "complaint", "duplicate"):
        assert len(server.mails_for(ids[case])) == 1, case
    assert server.mails_for(ids["invalid"]) == []
    duplicate = server.item(ids["duplicate"]) or {}
    assert duplicate["duplicateCount"] >= 1 and duplicate["attemptCount"] == 1
    assert (server.item(ids["invalid"]) or {})["status"] == "INVALID"


def test_smoke_fails_and_names_the_order_ses_rejected(tmp_path: Path) -> None:
    """One SendEmail is refused (MessageRejected: permanent, never retried). Whichever order it hits,
    that order and only that one is FAIL: its mail failed, or, for the duplicate, its second copy had
    to send the one mail. The ledger tells which order was hit."""
    with LocalRuntime(RuntimeOptions(outbox_dir=tmp_path / "outbox")) as runtime:
        runtime.inject("ses", SesRejected("Email address is on a blocklist (smoke test)"))
        env = {**base_env(), "AWS_ENDPOINT_URL": runtime.endpoint_url}
        result = subprocess.run([sys.executable, "-m", "ordermail.cli", "smoke", "--timeout", "60"],
                                capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
        assert runtime.faults.pending("ses") == 0  # the refusal was used
        table_name = runtime.outputs["LedgerTableName"]
        ddb = runtime.client("dynamodb")
        items = ddb.scan(TableName=table_name)["Items"]
        hit = [item["orderId"]["S"] for item in items
               if any(e["M"]["type"]["S"] == "ATTEMPT_FAILED" for e in item.get("timeline", {}).get("L", []))]
    assert result.returncode == 1, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert list(rows) == CASES
    failed = [case for case, row in rows.items() if "FAIL" in row]
    assert len(hit) == 1 and hit[0].startswith("smoke-")
    assert failed == [hit[0].rsplit("-", 1)[1]], result.stdout
    row = rows[failed[0]]
    assert hit[0] in row
    assert ("FAILED" in row and "MessageRejected" in result.stdout) or failed == ["duplicate"]
    assert "4/5 ok" in result.stdout and "smoke check FAILED" in result.stdout
