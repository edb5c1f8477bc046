"""`ordermail publish --via api|eventbridge` against `ordermail local`: the other two ways in."""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import Server, new_id, order


@pytest.mark.parametrize("via", ["api", "eventbridge"])
def test_publish_via_reaches_delivered(server: Server, via: str) -> None:
    first, second = new_id(f"{via}-1"), new_id(f"{via}-2")
    path = server.workdir / f"orders-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps([order(first), order(second)], ensure_ascii=False), encoding="utf-8")
    result = server.cli("publish", str(path), "--via", via, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["published"], report["failed"]) == (2, 0)
    assert [row["orderId"] for row in report["messages"]] == [first, second]
    assert all(row["messageId"] for row in report["messages"])
    for order_id in (first, second):
        server.wait_status(order_id, "DELIVERED")
        assert len(server.mails_for(order_id)) == 1


def test_publish_via_api_reports_the_apis_refusal(server: Server) -> None:
    # A numeric orderId passes the CLI's file check (any JSON object) but not the API's model: a 400.
    path = server.workdir / f"orders-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(order("x", orderId=12345)), encoding="utf-8")
    result = server.cli("publish", str(path), "--via", "api", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["published"] == 0
    assert report["errors"][0]["error"].startswith("HTTP 400")
