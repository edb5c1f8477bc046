"""Keeping the embedded runtime's memory flat over bursts and long runs.

Four things, all installed by `LocalRuntime` in fast mode only (stock moto, the benchmark's
baseline, is left as it is):

- moto's test aids keep what nobody reads in a runtime: every model instance it ever created
  (`BaseModel.instances_tracked`, for the moto server's dashboard: every DynamoDB item version —
  UpdateItem deep-copies the item —, every SQS message, every SES mail) and every message published
  to a topic (`Topic.sent_notifications`). `install_no_retain` swaps those lists for `NoRetain`, a
  list that keeps nothing (likewise the SES backend's `sent_messages`, a copy of every mail), so
  a burst's 10,000 orders are not held a second (and third) time while they wait in the queue.
  Nothing in moto's request handling reads them.
- A ledger item is a tree of moto `DynamoType`s whose map keys, attribute names and enum-like
  values (`status`, `type`, `orderId`, "DELIVERED", "ATTEMPT_STARTED", …) are fresh strings parsed
  from each request: every item holds its own copy of the same few dozen words. `install_interning`
  makes moto intern them (`sys.intern`: one shared string per distinct word), as a parser that
  reads the same keys over and over would. Strings are immutable; equality, hashing, sizes and
  serialization are unchanged.
- A ledger item held by moto is that tree of `DynamoType` objects: `compact_items.py` keeps them
  compressed at rest.
- glibc malloc arenas are capped at 2 (`limit_malloc_arenas`): threads that allocate under the
  GIL gain nothing from one arena each, and every arena fragments separately.
- After a burst the process is left with the allocator's high-water mark: glibc keeps the freed
  heap (the queued SQS message bodies, the SES event documents waiting for the feedback function,
  the executions' JSON) for reuse and never gives it back while a live allocation sits above it.
  `IdleTrimmer` calls glibc's `malloc_trim(0)` — which releases every whole free page of every
  malloc arena, not only the top of the heap — once the runtime has been quiet for a moment, as a
  long-running server would. It frees nothing that is live, so it cannot change behaviour; what it
  returns (`IdleTrimmer.trims`, `.released_bytes`) is counted, and RSS measured afterwards is what
  the runtime really still holds. Not returned: free chunks smaller than a page that sit between
  live allocations (measured: most of what glibc still holds after a 3,000-order burst), and
  Python's own small-object arenas (pymalloc, 1 MiB each), which Python unmaps only when empty.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, SupportsIndex

from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.ses.models import Message as SesMessage
from moto.ses.models import SESBackend
from moto.sns.models import Topic
from moto.sqs.models import Message as SqsMessage

from .seams import Patches

SEAMS: dict[str, tuple[object, str]] = {
    **{f"moto_instances_tracked_{model.__module__.split('.')[1]}_{model.__name__}": (model, "instances_tracked")
       for model in (Item, SqsMessage, SesMessage)},
    "sns_topic_init": (Topic, "__init__"),
    "ses_sent_messages": (SESBackend, "sent_messages"),  # an attribute of each backend instance
    "dynamodb_type_init": (DynamoType, "__init__"),
    "dynamodb_attrs_setitem": (LimitedSizeDict, "__setitem__"),
}


class NoRetain(list[Any]):
    """A list that keeps nothing: what moto appends to it for its test aids is dropped at once."""

    __slots__ = ()

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Iterable[Any]) -> None:
        pass

    def insert(self, index: SupportsIndex, item: Any) -> None:
        pass

    def __iadd__(self, items: Iterable[Any]) -> NoRetain:  # type: ignore[misc]
        return self


def tracked_models() -> tuple[type, ...]:
    """The moto models the runtime creates per request (per order, per mail, per item version)."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.ses.models import Message as SesMessage
    from moto.sqs.models import Message as SqsMessage

    return (Item, SqsMessage, SesMessage)


def install_no_retain(patches: Patches) -> None:
    """Seams `moto_instances_tracked`, `sns_sent_notifications`: moto's test aids keep nothing."""
    from moto.sns.models import Topic

    for model in tracked_models():
        patches.replace(model, "instances_tracked", NoRetain())
    original_init = Topic.__init__

    def topic_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.sent_notifications = NoRetain()

    patches.replace(Topic, "__init__", topic_init)


def install_no_retain_ses(patches: Patches, account_id: str, region: str) -> None:
    """Seam `ses_sent_messages`: the SES backend keeps no copy of every mail (body included)."""
    from moto.ses.models import ses_backends

    patches.replace(ses_backends[account_id][region], "sent_messages", NoRetain())


def prune_finished_threads() -> None:
    """moto's interpreter appends every thread it starts (one per Task state run with a timeout) to
    `TMP_THREADS` and never removes one; nothing reads the list. Finished threads are dropped, or a
    burst of 10,000 orders keeps ~50,000 dead Thread objects (tens of MB)."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    TMP_THREADS[:] = [thread for thread in TMP_THREADS if thread.is_alive()]


_intern = sys.intern
_INTERN_MAX = 40  # values longer than this are data (bodies, timestamps, ARNs), not words


def _word(value: Any) -> Any:
    """`value` interned when it is a short identifier-like string (an enum value, a key)."""
    if type(value) is str and len(value) <= _INTERN_MAX and value.isidentifier():
        return _intern(value)
    return value


def install_interning(patches: Patches) -> None:
    """Seams `dynamodb_type_init`, `dynamodb_attrs_setitem`: item keys and words are interned.

    `DynamoType.__init__` is moto's own (5.2.5, tests/integration/test_memory_seams.py pins its
    source), with map keys and identifier-like S values interned; `LimitedSizeDict.__setitem__`
    (an item's top-level attributes) interns the attribute name.
    """
    from moto.dynamodb.models.dynamo_type import DDBType, DynamoType, LimitedSizeDict

    list_type, map_type, string_type = DDBType.LIST, DDBType.MAP, DDBType.STRING

    def dynamo_type_init(self: Any, type_as_dict: Any) -> None:
        if type(type_as_dict) is DynamoType:
            self.type = type_as_dict.type
            self.value = type_as_dict.value
        else:
            self.type = list(type_as_dict)[0]  # noqa: RUF015 - as moto: IndexError on {}
            self.value = list(type_as_dict.values())[0]  # noqa: RUF015
        kind = self.type
        if kind == list_type:
            self.value = [DynamoType(val) for val in self.value]
        elif kind == map_type:
            self.value = {_word(k): DynamoType(v) for k, v in self.value.items()}
        elif kind == string_type:
            self.value = _word(self.value)

    original_setitem = LimitedSizeDict.__setitem__

    def setitem(self: Any, key: str, value: Any, _original: Any = original_setitem) -> None:
        _original(self, _word(key), value)

    patches.replace(DynamoType, "__init__", dynamo_type_init)
    patches.replace(LimitedSizeDict, "__setitem__", setitem)



def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _load_malloc_trim() -> Callable[[int], int] | None:
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)  # glibc only; musl has no malloc_trim
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(arenas: int) -> bool:
    """glibc gives each new thread that allocates concurrently its own malloc arena (up to 8 per
    core); each arena keeps its own free memory and fragments on its own. The runtime's threads
    (Pipe workers, the interpreter's per-state threads, the SES event publisher) allocate under the
    GIL, so extra arenas buy no concurrency: capping them lets freed memory be reused across threads
    (measured: a 3,000-order burst leaves ~11 MB less behind with 2). `arenas=0` restores glibc's
    default. Does nothing when MALLOC_ARENA_MAX is set in the environment (the operator decided)
    or without glibc. Arenas that already exist stay."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None or _MALLOC_TRIM is None:  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


try:
    _PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):
    _PAGE_SIZE = 4096


class IdleTrimmer:
    """Returns the memory a burst freed to the OS once the runtime has been quiet for a moment.

    `activity()` is any number that changes while the runtime works (executions, invocations,
    SES events published). A daemon thread samples it; once it has changed and then stayed the same
    for `quiet_seconds`, it trims — at most once per `min_interval` seconds, so a paced run that
    goes idle between orders pays a few milliseconds now and then. `trim_if_dirty()` trims at once
    when work happened since the last trim (the runtime calls it when `wait_idle` finds it idle).
    """

    def __init__(self, activity: Callable[[], int], *, quiet_seconds: float = 0.5, poll_seconds: float = 0.25,
                 min_interval: float = 2.0) -> None:
        self._activity = activity
        self._quiet = quiet_seconds
        self._poll = poll_seconds
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen = activity()
        self._trimmed_at_activity = self._seen
        self._changed_at = time.monotonic()
        self._last_trim = 0.0
        self._thread = threading.Thread(target=self._run, name="idle-trimmer", daemon=True)
        self.trims = 0
        self.released_bytes = 0  # RSS given back by the trims, summed
        self.trim_seconds = 0.0  # wall time spent in malloc_trim, summed

    @property
    def available(self) -> bool:
        return _MALLOC_TRIM is not None

    def start(self) -> None:
        if self.available:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def trim_if_dirty(self) -> bool:
        """Trim now if the runtime did any work since the last trim; True if it trimmed."""
        current = self._activity()
        with self._lock:
            if current == self._trimmed_at_activity:
                return False
        return self._trim(current)

    def _trim(self, activity: int) -> bool:
        if _MALLOC_TRIM is None:
            return False
        with self._lock:
            before = _rss_bytes()
            clock = time.perf_counter()
            _MALLOC_TRIM(0)
            self.trim_seconds += time.perf_counter() - clock
            self.released_bytes += max(0, before - _rss_bytes())
            self.trims += 1
            self._trimmed_at_activity = activity
            self._last_trim = time.monotonic()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            current = self._activity()
            now = time.monotonic()
            if current != self._seen:
                self._seen = current
                self._changed_at = now
                continue
            if (current != self._trimmed_at_activity and now - self._changed_at >= self._quiet
                    and now - self._last_trim >= self._min_interval):
                self._trim(current)
