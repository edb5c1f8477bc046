"""Send pacing (docs/PACING.md): the counter table, the rate the ASL gets, and the context keys."""

from __future__ import annotations

import json

import pytest

from tasks import names
from tests.infra.conftest import Synth, synthesize
from tests.infra.helpers import resolved_definition, table_id
from workflow.context import ContextError, load_config_from_mapping

DEV = names.resource_names("dev")


def test_the_pacing_table_is_one_on_demand_encrypted_counter(dev: Synth) -> None:
    table = dev.json["Resources"][table_id(dev.json, DEV["pacing_table"])]
    assert table["Properties"]["KeySchema"] == [{"AttributeName": names.PACING_PARTITION_KEY, "KeyType": "HASH"}]
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TimeToLiveSpecification" not in table["Properties"]  # one item, rewritten every second
    assert table["DeletionPolicy"] == "Delete"


def test_the_state_machine_paces_at_the_configured_rate(dev: Synth, prod: Synth, tmp_path_factory: pytest.TempPathFactory) -> None:
    def window_limit(synth: Synth) -> str:
        _, definition = resolved_definition(synth.json)
        slot = definition["States"]["TakeSendSlotInWindow"]["Parameters"]
        assert slot["TableName"] == names.resource_names(synth.config.env)["pacing_table"]
        return str(slot["ExpressionAttributeValues"][":rate"]["N"])

    assert window_limit(dev) == "1"  # the sandbox guard is on outside prod: the sandbox's rate
    assert window_limit(prod) == str(names.SES_PRODUCTION_SEND_RATE)
    assert window_limit(synthesize({"sesMaxSendRate": "40"}, tmp_path_factory.mktemp("rate40"))) == "40"


def test_the_requeue_goes_to_the_orders_queue_after_the_delays_of_names(dev: Synth) -> None:
    _, definition = resolved_definition(dev.json)
    states = definition["States"]
    assert states["Requeue"]["Parameters"]["QueueUrl"].endswith(f"/{DEV['orders_queue']}")
    assert states["Requeue"]["Parameters"]["MessageAttributes"] == {
        names.REQUEUED_ATTRIBUTE: {"DataType": "String", "StringValue": names.REQUEUED_FORMAT}}
    assert states["DeferForRate"]["Result"]["delaySeconds"] == str(names.PACING_REQUEUE_DELAY_SECONDS)
    assert states["DeferForQuota"]["Result"]["delaySeconds"] == str(names.QUOTA_REQUEUE_DELAY_SECONDS)
    assert names.QUOTA_REQUEUE_DELAY_SECONDS <= 900  # SQS's longest message delay
    send_catch = {error: c["Next"] for c in states["Send"]["Catch"] for error in c["ErrorEquals"]}
    assert send_catch["SesV2.LimitExceededException"] == "DeferForQuota"  # never FAILED for a spent quota
    assert json.dumps(states["Send"]["Retry"]).count("TooManyRequestsException") == 1  # still retried, now rare


@pytest.mark.parametrize(("context", "rate", "quota"), [
    ({}, 1, 200),
    ({"env": "prod"}, 14, 50_000),
    ({"sesSandbox": "false"}, 14, 50_000),
    ({"sesMaxSendRate": "2", "sesDailyQuota": "5000"}, 2, 5000),
])
def test_send_rate_and_quota_default_to_what_aws_grants_first(context: dict[str, str], rate: int, quota: int) -> None:
    config = load_config_from_mapping(context)
    assert (config.ses_max_send_rate, config.ses_daily_quota) == (rate, quota)


@pytest.mark.parametrize(("key", "value"), [("sesMaxSendRate", "0"), ("sesMaxSendRate", "501"),
                                            ("sesMaxSendRate", "1.5"), ("sesDailyQuota", "0")])
def test_bad_send_figures_are_refused_with_their_key(key: str, value: str) -> None:
    with pytest.raises(ContextError) as error:
        load_config_from_mapping({key: value})
    assert error.value.key == key
