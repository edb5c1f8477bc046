"""Item 5: the ledger table — key, on-demand, SSE, PITR, TTL, two GSIs; retained and protected in prod."""

from __future__ import annotations

from tasks import names
from tests.infra.conftest import Synth
from tests.infra.helpers import only, table_id


def test_ledger_table_matches_the_item_contract(dev: Synth) -> None:
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": names.resource_names("dev")["ledger_table"],
            "KeySchema": [{"AttributeName": names.LEDGER_PARTITION_KEY, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {"SSEEnabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": names.LEDGER_TTL_ATTRIBUTE, "Enabled": True},
        },
    )
    table = dev.json["Resources"][table_id(dev.json, names.resource_names("dev")["ledger_table"])]["Properties"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": name, "AttributeType": "S"}
        for name in sorted([names.LEDGER_PARTITION_KEY, names.LEDGER_LISTED_STATUS_ATTRIBUTE, "updatedAt"])
    ]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        names.LEDGER_STATUS_INDEX: {
            "IndexName": names.LEDGER_STATUS_INDEX,
            "KeySchema": [
                # Sparse: only the listed statuses carry the key (docs/LEDGER.md)
                {"AttributeName": names.LEDGER_LISTED_STATUS_ATTRIBUTE, "KeyType": "HASH"},
                {"AttributeName": "updatedAt", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    }


def test_dev_ledger_is_disposable(dev: Synth) -> None:
    table = dev.json["Resources"][table_id(dev.json, names.resource_names("dev")["ledger_table"])]
    assert table["DeletionPolicy"] == "Delete"
    assert not table["Properties"].get("DeletionProtectionEnabled", False)


def test_prod_ledger_is_retained_and_deletion_protected(prod: Synth) -> None:
    table = prod.json["Resources"][table_id(prod.json, names.resource_names("prod")["ledger_table"])]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["TableName"] == "ordermail-prod-ledger"
    # The key and the log groups outlive the stack in prod as well.
    key = prod.json["Resources"][only(prod.json, "AWS::KMS::Key")]
    assert key["DeletionPolicy"] == "Retain"
    for log_group in (r for r in prod.json["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"):
        assert log_group["DeletionPolicy"] == "Retain"
