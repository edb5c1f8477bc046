"""The moto seams ordermail/emulator/memory.py relies on, and that the runtime uses them.

An upgrade of the pinned moto that changes how it tracks model instances or keeps published
notifications must fail here, before the runtime quietly starts keeping every order again."""

from __future__ import annotations

import inspect
from typing import Any

from ordermail.emulator import LocalRuntime, memory


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

    from ordermail.emulator.hooks import Patches

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
