"""The moto seams ordermail/emulator/memory.py relies on, and that the runtime uses them.

An upgrade of the pinned moto that changes how it tracks model instances or keeps published
notifications must fail here, before the runtime quietly starts keeping every order again."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime, compact_items, memory


def test_models_still_track_instances_through_the_class_list() -> None:
    from moto.core.common_models import BaseModel

    assert "cls.instances_tracked.append(" in inspect.getsource(BaseModel.__new__)
    for model in memory.tracked_models():
        assert isinstance(model.instances_tracked, list), model  # type: ignore[attr-defined]


def test_topics_still_keep_notifications_in_the_attribute() -> None:
    from moto.sns.models import Topic

    assert "self.sent_notifications = " in inspect.getsource(Topic.__init__) or (
        "self.sent_notifications:" in inspect.getsource(Topic.__init__)
    )
    assert "self.sent_notifications.append(" in inspect.getsource(Topic.publish)


def test_ses_still_keeps_mails_in_the_backend_attribute() -> None:
    from moto.ses.models import SESBackend

    source = inspect.getsource(SESBackend)
    assert "self.sent_messages: list[Any] = []" in source
    assert "self.sent_messages.append(" in source


def test_the_runtime_keeps_no_test_aid_copies(runtime: LocalRuntime, harness: Any) -> None:
    from moto.sns.models import sns_backends

    from ordermail.emulator.provision import ACCOUNT_ID

    from .conftest import make_order

    for model in memory.tracked_models():
        assert isinstance(model.instances_tracked, memory.NoRetain), model  # type: ignore[attr-defined]
    order = make_order()
    harness.publish(order)
    harness.settle()
    assert harness.item(order["orderId"])["status"] in ("SENT", "DELIVERED")
    assert len(harness.mails_for(order["orderId"])) == 1
    for topic in sns_backends[ACCOUNT_ID][runtime.region].topics.values():
        assert topic.sent_notifications == []
    from moto.ses.models import ses_backends

    assert isinstance(ses_backends[ACCOUNT_ID][runtime.region].sent_messages, memory.NoRetain)
    assert ses_backends[ACCOUNT_ID][runtime.region].sent_messages == []
    for model in memory.tracked_models():
        assert model.instances_tracked == []  # type: ignore[attr-defined]
    returned = runtime.memory_returned()
    assert returned["trims"] >= (1 if runtime._trimmer and runtime._trimmer.available else 0)


def test_the_runtime_keeps_no_finished_interpreter_threads(runtime: LocalRuntime, harness: Any) -> None:
    """moto appends every thread its interpreter starts to TMP_THREADS, forever (one per Task run with a
    timeout): the runtime drops the finished ones every 50 executions."""
    import inspect as _inspect

    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.utils import TMP_THREADS

    from .conftest import make_order

    assert "TMP_THREADS.append(thread)" in _inspect.getsource(execute_state.ExecutionState._evaluate_with_timeout)
    for _ in range(110):  # over two multiples of 50 executions: unpruned, 5 dead threads each
        harness.publish(make_order(email="success@simulator.amazonses.com"))
    harness.settle()
    # Without the pruning: several dead threads per execution since the runtime started.
    assert sum(1 for thread in TMP_THREADS if not thread.is_alive()) < 50 * 6


_MOTO_DYNAMO_TYPE_INIT = '''    def __init__(self, type_as_dict: DynamoType | dict[str, Any]):
        if type(type_as_dict) is DynamoType:
            self.type: str = type_as_dict.type
            self.value: Any = type_as_dict.value
        else:
            self.type = list(type_as_dict)[0]  # type: ignore[arg-type]
            self.value = list(type_as_dict.values())[0]  # type: ignore[union-attr]
        if self.is_list():
            self.value = [DynamoType(val) for val in self.value]
        elif self.is_map():
            self.value = {k: DynamoType(v) for k, v in self.value.items()}
'''


def test_dynamo_type_init_is_the_one_the_interning_copy_follows() -> None:
    """memory.install_interning replaces DynamoType.__init__ with a copy of this code: if moto
    changes it, the copy must change too."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    assert _MOTO_DYNAMO_TYPE_INIT in inspect.getsource(DynamoType)  # the file, not the patched method
    assert "super().__setitem__(key, value)" in inspect.getsource(LimitedSizeDict)


def test_interned_items_equal_moto_s_own() -> None:
    import copy
    import sys

    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from ordermail.emulator.seams import Patches

    raw = {
        "orderId": {"S": "order-1"},
        "status": {"S": "DELIVERED"},
        "timeline": {"L": [{"M": {"type": {"S": "ATTEMPT_STARTED"}, "at": {"S": "2026-11-23T10:00:00.000Z"},
                                  "n": {"N": "1"}, "tags": {"SS": ["a", "b"]}}}]},
        "nested": {"M": {"ses:configuration-set": {"L": [{"S": "x"}]}, "empty": {"M": {}}, "flag": {"BOOL": True},
                         "nothing": {"NULL": True}, "blob": {"B": "AAE="}}},
    }
    plain = Item(DynamoType({"S": "order-1"}), None, copy.deepcopy(raw))
    patches = Patches()
    memory.install_interning(patches)
    try:
        interned = Item(DynamoType({"S": "order-1"}), None, copy.deepcopy(raw))
        again = copy.deepcopy(interned)
        assert DynamoType(DynamoType({"S": "x"})) == DynamoType({"S": "x"})
        try:
            DynamoType({})
        except IndexError:
            pass
        else:  # pragma: no cover
            raise AssertionError("DynamoType({}) must fail as moto's does")
    finally:
        patches.undo()
    assert interned.to_json() == plain.to_json() == again.to_json()
    assert interned.size() == plain.size()
    assert interned.attrs == plain.attrs
    name = next(key for key in interned.attrs if key == "status")
    assert name is sys.intern("status")
    entry = interned.attrs["timeline"].value[0].value
    assert next(key for key in entry if key == "type") is sys.intern("type")
    assert entry["type"].value is sys.intern("ATTEMPT_STARTED")
    assert entry["at"].value == "2026-11-23T10:00:00.000Z"


_RICH_ITEM = {
    "orderId": {"S": "order-1"},
    "status": {"S": "DELIVERED"},
    "attempts": {"N": "2"},
    "timeline": {"L": [{"M": {"type": {"S": "ATTEMPT_STARTED"}, "at": {"S": "2026-11-23T10:00:00.000Z"},
                              "n": {"N": "1.50"}, "tags": {"SS": ["a", "b"]}, "codes": {"NS": ["1", "2"]}}}]},
    "nested": {"M": {"ses:configuration-set": {"L": [{"S": "x"}, {"L": []}]}, "empty": {"M": {}},
                     "flag": {"BOOL": True}, "off": {"BOOL": False}, "nothing": {"NULL": True},
                     "blob": {"B": "AAE="}, "blobs": {"BS": ["AAE=", "AAI="]}}},
    "request": {"S": "{\"customer\": {\"name\": \"Zoë 山田\"}}"},
}


def _item(raw: dict[str, Any]) -> Any:
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    return Item(DynamoType({"S": raw["orderId"]["S"]}), None, copy.deepcopy(raw))


def test_an_encoded_item_decodes_to_an_equal_item() -> None:
    import sys

    item = _item(_RICH_ITEM)
    blob = compact_items.encode_item(item)
    again = compact_items.decode_item(blob)
    assert again is not item
    assert again.to_json() == item.to_json()
    assert again.to_json()["Attributes"]["timeline"] == _RICH_ITEM["timeline"]
    assert again == item and again.size() == item.size()
    assert again.hash_key == item.hash_key and again.range_key is None
    assert vars(again).keys() == vars(item).keys()
    assert vars(again.attrs["status"]).keys() == vars(item.attrs["status"]).keys()
    order = {"items": [{"sku": f"SKU-{n}", "name": "Tasse à café", "quantity": 1, "unitPrice": "12.50"} for n in range(20)]}
    large = _item({**_RICH_ITEM, "request": {"S": json.dumps(order)}})
    assert len(compact_items.encode_item(large)) < large.size() / 2  # compressed: the point of the store
    # interned words stay interned through marshal
    assert next(key for key in again.attrs if key == "status") is sys.intern("status")


def test_compact_items_keep_the_one_live_copy_until_the_write_is_over() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    store = compact_items.CompactItems()
    key = DynamoType({"S": "order-1"})
    store[key] = _item(_RICH_ITEM)
    assert store.compact() == 1 and store.keys_and_hot()[1] == []
    # moto's update: fetch, change in place, then the write lock's after_write compacts
    live = store[key]
    assert store[key] is live  # the same object while hot
    live.attrs["status"] = DynamoType({"S": "BOUNCED"})
    assert store.compact() == 1
    assert store[key] is not live and store[key].attrs["status"].value == "BOUNCED"
    # peek reads a string attribute of hot and cold items without decoding any
    assert store.peek("status") == {"order-1": "BOUNCED"}
    store.compact()
    assert store.peek("status") == {"order-1": "BOUNCED"} and store.keys_and_hot()[1] == []
    # read() and values() decode copies and leave nothing hot
    assert store.read(key).attrs["status"].value == "BOUNCED" and store.read(DynamoType({"S": "x"})) is None
    assert store.keys_and_hot()[1] == []
    store.compact()
    values = list(store.values())
    assert [v.attrs["status"].value for v in values] == ["BOUNCED"] and store.keys_and_hot()[1] == []
    # the dict operations moto uses
    assert key in store and DynamoType({"S": "other"}) not in store and len(store) == 1 and list(store) == [key]
    popped = store.pop(key)
    assert popped.attrs["orderId"].value == "order-1" and len(store) == 0
    with pytest.raises(KeyError):
        store[key]
    with pytest.raises(KeyError):
        del store[key]


_MOTO_TABLE_ITEM_USES = (
    "self.items = defaultdict(dict)",
    "self.items[hash_value] = item",
    "elif hash_key in self.items:\n                result = self.items[hash_key]",
    "item = self.items.pop(hash_key)",
    "for hash_set in self.items.values():",
)


def test_moto_tables_use_items_only_as_the_compact_store_supports() -> None:
    """CompactItems implements what moto's Table does with `items` for tables without a sort key,
    and relies on UpdateItem changing the fetched item in place inside the write."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    source = inspect.getsource(Table)
    for use in _MOTO_TABLE_ITEM_USES:
        assert use in source, use
    assert "item = table.get_item(hash_value, range_value)" in inspect.getsource(DynamoDBBackend.update_item)


def test_the_runtime_keeps_the_ledger_compact(runtime: LocalRuntime, harness: Any) -> None:
    from ordermail.bench.invariants import ledger_table

    from .conftest import make_order

    table = ledger_table(runtime)
    assert isinstance(table.items, compact_items.CompactItems)
    order = make_order()
    harness.publish(order)
    harness.settle()
    status = harness.item(order["orderId"])["status"]  # through the API: decoded from the store
    assert status in ("SENT", "DELIVERED")
    assert table.items.peek("status")[order["orderId"]] == status
    stored = table.items.read(next(key for key in table.items if key.value == order["orderId"]))
    assert stored.attrs["status"].value == status and table.items.stored_bytes() > 0
