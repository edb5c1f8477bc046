"""What each principal used against what it is granted: an unused grant is as visible as a missing one."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .calls import Check
    from .enforce import Principal

# AWS requires these of a role although no code path calls them through the runtime: Pipes
# validate the source queue with GetQueueAttributes when they start; Lambda writes its own logs
# and X-Ray segments, which the runtime does not emulate.
NOT_EXERCISED_LOCALLY = ("sqs:GetQueueAttributes", "logs:", "xray:")


@dataclass
class Use:
    allowed: int = 0
    denied: int = 0


class Usage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uses: dict[str, dict[tuple[str, str], Use]] = {}

    def record(self, principal: Principal, check: Check, allowed: bool) -> None:
        if principal.label == "account":
            return  # operators and the harness: not a principal of the stack
        with self._lock:
            use = self._uses.setdefault(principal.label, {}).setdefault((check.action, check.resource), Use())
            if allowed:
                use.allowed += 1
            else:
                use.denied += 1

    def denied(self) -> dict[str, list[tuple[str, str]]]:
        with self._lock:
            return {label: sorted(key for key, use in uses.items() if use.denied)
                    for label, uses in self._uses.items() if any(use.denied for use in uses.values())}

    def snapshot(self) -> dict[str, dict[tuple[str, str], Use]]:
        with self._lock:
            return {label: {key: Use(use.allowed, use.denied) for key, use in uses.items()}
                    for label, uses in self._uses.items()}


def _matches(pattern: str, value: str, *, case: bool) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def report(principals: Iterable[tuple[str, list[tuple[str, str]]]], usage: Usage) -> dict[str, Any]:
    """Per principal: each grant (action, resource) with how often it was used, and the denied calls."""
    uses = usage.snapshot()
    out: dict[str, Any] = {}
    for label, grants in principals:
        used = uses.get(label, {})
        rows = []
        for action, resource in grants:
            calls = sum(use.allowed for (a, r), use in used.items()
                        if _matches(action, a, case=False) and _matches(resource, r, case=True))
            rows.append({"action": action, "resource": resource, "calls": calls,
                         "note": "" if calls or not action.startswith(NOT_EXERCISED_LOCALLY)
                         else "not exercised by the local runtime"})
        denied = [{"action": a, "resource": r, "calls": use.denied} for (a, r), use in sorted(used.items()) if use.denied]
        out[label] = {"grants": rows, "denied": denied, "by_resource_policy": _beyond(grants, used)}
    for label in sorted(set(uses) - set(out)):  # service principals: resource policies only
        used = uses[label]
        denied = [{"action": a, "resource": r, "calls": use.denied} for (a, r), use in sorted(used.items()) if use.denied]
        out[label] = {"grants": [], "denied": denied, "by_resource_policy": _beyond([], used)}
    return out


def _beyond(grants: list[tuple[str, str]], used: dict[tuple[str, str], Use]) -> list[dict[str, Any]]:
    """Allowed calls no identity grant covers: a resource policy (topic, queue, key, Lambda permission) allowed them."""
    return [{"action": a, "resource": r, "calls": use.allowed} for (a, r), use in sorted(used.items())
            if use.allowed and not any(_matches(ga, a, case=False) and _matches(gr, r, case=True) for ga, gr in grants)]


def format_report(data: dict[str, Any]) -> str:
    lines = ["IAM: what each principal used, against what it is granted"]
    for label, entry in data.items():
        lines.append(f"  {label}")
        for row in entry["grants"]:
            if row["calls"] or not row["note"]:
                mark = f"{row['calls']:>6} calls" if row["calls"] else "    UNUSED"
                lines.append(f"    {mark}  {row['action']}  {row['resource']}")
        for row in entry["by_resource_policy"]:
            lines.append(f"    {row['calls']:>6} calls  {row['action']}  {row['resource']}  (allowed by its resource policy)")
        for row in entry["denied"]:
            lines.append(f"    DENIED {row['calls']:>3}x  {row['action']}  {row['resource']}")
        elsewhere = sorted({row["action"] for row in entry["grants"] if row["note"]})
        if elsewhere:
            lines.append(f"    (granted for AWS's own use, not exercised locally: {', '.join(elsewhere)})")
    unused = sum(1 for e in data.values() for r in e["grants"] if not r["calls"] and not r["note"])
    denied = sum(len(e["denied"]) for e in data.values())
    lines.append(f"  {denied} denied (action, resource) pair(s), {unused} unused grant(s)")
    return "\n".join(lines)
