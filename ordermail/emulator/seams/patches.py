"""Patches: every change the runtime makes to moto (or Powertools), strict and undoable.

`replace` refuses an attribute its owner does not have: a moto upgrade that renames a seam fails the
runtime's start, naming it, instead of silently adding a dead attribute. `add` is the one way to
give moto something it lacks (an operation it does not implement), and refuses an attribute that
already exists. `applied` records every (owner, attribute) patched, so a test can compare it with
the registry (seams/__init__.py) and find any seam left out.
"""

from __future__ import annotations

from typing import Any


class SeamMissing(RuntimeError):
    """A patched attribute is not where the pinned moto had it: the seam moved."""


def owner_name(owner: object) -> str:
    return getattr(owner, "__qualname__", None) or getattr(owner, "__name__", None) or type(owner).__name__


def has_attribute(owner: object, attribute: str) -> bool:
    return hasattr(owner, attribute)


class Patches:
    """Attribute replacements that are undone in reverse order."""

    def __init__(self) -> None:
        self._undo: list[tuple[object, str, Any, bool]] = []
        self.applied: list[tuple[object, str]] = []

    def replace(self, owner: object, attribute: str, value: Any) -> Any:
        if not has_attribute(owner, attribute):
            raise SeamMissing(f"{owner_name(owner)}.{attribute} does not exist: the pinned library moved this "
                              "seam (tests/integration/test_moto_seams.py names every one)")
        # A class's own attribute is kept as stored (a classmethod stays a classmethod on undo); an
        # inherited one is shadowed, and the shadow deleted on undo.
        own = attribute in vars(owner) if isinstance(owner, type) else True
        original = (vars(owner)[attribute] if isinstance(owner, type) else getattr(owner, attribute)) if own else None
        self._undo.append((owner, attribute, original, own))
        self.applied.append((owner, attribute))
        setattr(owner, attribute, value)
        return original

    def add(self, owner: object, attribute: str, value: Any) -> None:
        """Give `owner` an attribute it lacks (registered in seams.ADDED)."""
        if has_attribute(owner, attribute):
            raise SeamMissing(f"{owner_name(owner)}.{attribute} exists now: replace it instead of adding it")
        self._undo.append((owner, attribute, None, False))
        self.applied.append((owner, attribute))
        setattr(owner, attribute, value)

    def undo(self) -> None:
        while self._undo:
            owner, attribute, original, had = self._undo.pop()
            if had:
                setattr(owner, attribute, original)
            else:
                delattr(owner, attribute)
        self.applied.clear()
