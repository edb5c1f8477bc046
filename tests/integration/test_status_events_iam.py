"""Least privilege of the status events Pipe's role under the runtime's IAM enforcement: each grant
is needed (without one no event leaves: the poller counts the denial in `failed`, the records wait,
and the order is still mailed)."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.iam.template import synthesized_template
from tasks import names

from .conftest import Harness, make_order
from .test_iam_mutations import drop_action

POLICY = "StatusEventsRoleDefaultPolicy"


def _published(tmp: Path, template: dict[str, Any]) -> tuple[str, int, int]:
    """Mail one order on a runtime with `template`: (ledger status, events published, poll failures)."""
    with LocalRuntime(RuntimeOptions(outbox_dir=tmp, time_scale=0.005, iam_template=template,
                                     status_events=True)) as rt:
        assert rt.iam is not None and rt.iam.principals.status_events is not None
        order = make_order(email=f"success@{names.SES_SIMULATOR_DOMAIN}")
        Harness(rt).publish(order)
        rt.wait_idle(timeout=30)
        time.sleep(0.3)  # a few more polls of the stream
        (poller,) = [part for part in rt.services if hasattr(part, "published")]
        status = Harness(rt).item(order["orderId"])["status"]  # type: ignore[index]
        return status, poller.published, poller.failed


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesized_template("dev", {"statusEvents": True})


def test_the_role_as_synthesized_publishes(template: dict[str, Any], tmp_path: Path) -> None:
    assert _published(tmp_path, template) == ("DELIVERED", 2, 0)


@pytest.mark.parametrize("action", ["events:PutEvents", "dynamodb:GetRecords", "lambda:InvokeFunction"])
def test_without_each_grant_no_event_leaves_but_the_mail_still_does(
    template: dict[str, Any], tmp_path: Path, action: str
) -> None:
    mutated = copy.deepcopy(template)
    drop_action(mutated, POLICY, action)
    status, published, failed = _published(tmp_path, mutated)
    assert status == "DELIVERED"
    assert published == 0 and failed > 0
