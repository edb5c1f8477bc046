"""The runtime's memory keepers (ordermail/emulator/memory.py), without moto."""

from __future__ import annotations

import time

import pytest

from ordermail.emulator import memory


def test_no_retain_keeps_nothing() -> None:
    kept = memory.NoRetain()
    kept.append(1)
    kept.extend([2, 3])
    kept.insert(0, 4)
    kept += [5]
    assert kept == []
    assert isinstance(kept, list)
    kept.clear()  # what the runtime's periodic prune does to it


def test_trim_if_dirty_trims_only_after_work() -> None:
    counter = [0]
    trimmer = memory.IdleTrimmer(lambda: counter[0])
    if not trimmer.available:
        pytest.skip("no glibc malloc_trim on this platform")
    assert trimmer.trim_if_dirty() is False  # nothing happened since it was made
    counter[0] += 1
    assert trimmer.trim_if_dirty() is True
    assert trimmer.trims == 1
    assert trimmer.trim_if_dirty() is False  # nothing new since
    assert trimmer.released_bytes >= 0


def test_idle_thread_trims_once_work_has_stopped() -> None:
    counter = [0]
    trimmer = memory.IdleTrimmer(lambda: counter[0], quiet_seconds=0.05, poll_seconds=0.01, min_interval=0.0)
    if not trimmer.available:
        pytest.skip("no glibc malloc_trim on this platform")
    trimmer.start()
    try:
        time.sleep(0.2)
        assert trimmer.trims == 0  # never busy: nothing to give back
        counter[0] += 1
        deadline = time.monotonic() + 5
        while trimmer.trims == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trimmer.trims == 1
        time.sleep(0.2)
        assert trimmer.trims == 1  # quiet since: no second trim
    finally:
        trimmer.stop()


def test_a_busy_runtime_is_not_trimmed_while_it_works() -> None:
    counter = [0]
    trimmer = memory.IdleTrimmer(lambda: counter[0], quiet_seconds=0.2, poll_seconds=0.01, min_interval=0.0)
    if not trimmer.available:
        pytest.skip("no glibc malloc_trim on this platform")
    trimmer.start()
    try:
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            counter[0] += 1
            time.sleep(0.02)
        assert trimmer.trims == 0
    finally:
        trimmer.stop()


def test_arena_cap_respects_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas(2) is False  # the operator's setting wins


def test_arena_cap_can_be_set_and_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    if memory._MALLOC_TRIM is None:
        pytest.skip("not glibc")
    assert memory.limit_malloc_arenas(2) is True
    assert memory.limit_malloc_arenas(0) is True
