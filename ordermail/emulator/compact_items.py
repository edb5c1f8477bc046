"""The ledger at rest, compressed (fast mode): a ledger item held by moto is a tree of `DynamoType`
objects, about 13 KB of Python objects for 2 KB of data (measured: +101 MB of a 10,000-order burst's
+132 MB). `install_compact_items` gives every hash-key-only table a `CompactItems` store: items at
rest are kept as one compressed `marshal` blob each (about 1.2 KB), decoded when a request touches
them, and encoded again when the write that touched them is over (inside the runtime's DynamoDB
write lock, seams/dynamodb.py), so moto's in-place update of an item always works on the one live
copy. Reads never change an item; a scan decodes copies one by one.
"""

from __future__ import annotations

import marshal
import sys
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models.table import Table

if TYPE_CHECKING:
    from .seams import Patches

SEAMS: dict[str, tuple[object, str]] = {"dynamodb_table_init": (Table, "__init__")}


def _encode_value(value: Any) -> tuple[str, Any]:
    kind = value.type
    if kind == "L":
        return (kind, [_encode_value(element) for element in value.value])
    if kind == "M":
        return (kind, {key: _encode_value(element) for key, element in value.value.items()})
    return (kind, value.value)  # S and N strings, B, BOOL, NULL, string sets: marshal keeps them as they are


def _decode_value(node: tuple[str, Any], new: Callable[[type], Any], dynamo_type: type) -> Any:
    kind, raw = node
    value = new(dynamo_type)  # as DynamoType.__init__ leaves it: `type` and `value`, nothing else
    if kind == "L":
        raw = [_decode_value(element, new, dynamo_type) for element in raw]
    elif kind == "M":
        raw = {key: _decode_value(element, new, dynamo_type) for key, element in raw.items()}
    value.type = kind
    value.value = raw
    return value


def encode_item(item: Any) -> bytes:
    """A moto `Item` as one compressed blob (marshal keeps interned words interned on decode)."""
    attrs = {name: _encode_value(value) for name, value in item.attrs.items()}
    range_key = _encode_value(item.range_key) if item.range_key is not None else None
    return zlib.compress(marshal.dumps((_encode_value(item.hash_key), range_key, attrs)), 1)


def decode_item(blob: bytes) -> Any:
    """The `Item` `encode_item` was given: equal attributes, sizes and JSON; a new object."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    # Only blobs encode_item made in this process are ever decoded: no foreign input reaches marshal.
    hash_key, range_key, attrs = marshal.loads(zlib.decompress(blob))  # noqa: S302
    new = object.__new__  # not Item(...): moto's constructor would re-parse the wire format
    item = new(Item)
    item.hash_key = _decode_value(hash_key, new, DynamoType)
    item.range_key = _decode_value(range_key, new, DynamoType) if range_key is not None else None
    item.attrs = LimitedSizeDict()
    dict.update(item.attrs, {name: _decode_value(value, new, DynamoType) for name, value in attrs.items()})
    return item


class CompactItems(MutableMapping[Any, Any]):
    """A hash-key-only moto table's `items`: hash key → `Item`, compressed at rest.

    `cold` holds encoded items; `hot` the ones a request has touched since the last `compact()`.
    moto updates an item in place after fetching it (`table.get_item(...)` then the update
    expression), so a fetched item must stay the one live copy until the write is over:
    `__getitem__` moves it to `hot`, and `compact()` — called inside the DynamoDB write lock, after
    each write — encodes the hot items again. `values()` (scans, index queries, counts) decodes
    copies without making them hot: moto only reads what it iterates.

    `peek(name)` reads one string attribute of every item without decoding any: the store notes
    it when it encodes an item (the benchmark polls every order's `status` once a second while
    10,000 orders settle; decoding them all each time took a quarter of the process's CPU).
    """

    def __init__(self, *, peekable: tuple[str, ...] = ("status",)) -> None:
        self._lock = threading.RLock()
        self._cold: dict[Any, bytes] = {}
        self._hot: dict[Any, Any] = {}
        self._peekable = peekable
        self._peeked: dict[Any, tuple[str | None, ...]] = {}  # cold items' peekable values

    def __getitem__(self, key: Any) -> Any:
        with self._lock:
            item = self._hot.get(key)
            if item is None:
                item = decode_item(self._cold[key])  # KeyError as a dict's
                self._hot[key] = item
                del self._cold[key]
            return item

    def read(self, key: Any) -> Any | None:
        """The item under `key` for reading only (a decoded copy; nothing becomes hot), or None."""
        with self._lock:
            item = self._hot.get(key)
            blob = self._cold.get(key) if item is None else None
        return decode_item(blob) if blob is not None else item

    def __setitem__(self, key: Any, item: Any) -> None:
        with self._lock:
            self._hot[key] = item
            self._cold.pop(key, None)

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            if self._hot.pop(key, None) is None:
                del self._cold[key]
            self._peeked.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._hot or key in self._cold

    def __len__(self) -> int:
        with self._lock:
            return len(self._hot) + len(self._cold)

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            keys = [*self._hot, *self._cold]
        return iter(keys)

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        with self._lock:
            hot = list(self._hot.values())
            cold = list(self._cold.values())
        yield from hot
        for blob in cold:
            yield decode_item(blob)

    def compact(self) -> int:
        """Encode the items requests touched since the last call; how many there were."""
        with self._lock:
            touched = len(self._hot)
            for key, item in self._hot.items():
                self._cold[key] = encode_item(item)
                self._peeked[key] = self._peek_values(item)
            self._hot.clear()
            return touched

    def _peek_values(self, item: Any) -> tuple[str | None, ...]:
        values = []
        for name in self._peekable:
            value = item.attrs.get(name)
            values.append(value.value if value is not None and value.type == "S" else None)
        return tuple(values)

    def peek(self, name: str) -> dict[Any, str | None]:
        """hash key value → the string attribute `name` (None when absent or not a string), for
        every item, decoding none. `name` must be one of the store's `peekable` attributes."""
        index = self._peekable.index(name)
        with self._lock:
            values = {key.value: peeked[index] for key, peeked in self._peeked.items() if key in self._cold}
            values.update({key.value: self._peek_values(item)[index] for key, item in self._hot.items()})
        return values

    def stored_bytes(self) -> int:
        """The encoded items' sizes (bytes objects included), not counting the keys or hot items."""
        with self._lock:
            return sys.getsizeof(self._cold) + sum(sys.getsizeof(blob) for blob in self._cold.values())

    def keys_and_hot(self) -> tuple[list[Any], list[Any]]:
        """The keys and the items currently decoded (for the benchmark's memory walk)."""
        with self._lock:
            return [*self._hot, *self._cold], list(self._hot.values())


def install_compact_items(patches: Patches) -> Callable[[], None]:
    """Seam `dynamodb_table_init`: tables created from now on without a sort key keep their items
    in a `CompactItems` store. Returns the function that compacts every such store: the runtime
    calls it inside the DynamoDB write lock after each write (seams/dynamodb.py)."""
    from moto.dynamodb.models.table import Table

    stores: weakref.WeakValueDictionary[int, CompactItems] = weakref.WeakValueDictionary()  # a mapping is unhashable
    original_init = Table.__init__

    def table_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.range_key_attr is None and not self.items:
            self.items = CompactItems()
            stores[id(self.items)] = self.items

    def compact_all() -> None:
        for store in list(stores.values()):
            store.compact()

    patches.replace(Table, "__init__", table_init)
    return compact_all
