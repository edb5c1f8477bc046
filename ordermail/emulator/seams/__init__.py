"""Every change the embedded runtime makes to moto (and Powertools), one module per concern.

moto is pinned exactly (requirements.txt). Each module names the attributes it patches in its
`SEAMS`; `registry()` gathers them, and tests/integration/test_moto_seams.py fails if an upgrade
moves one, or if a started runtime patched anything the registry does not name. `Patches.replace`
refuses a missing attribute, so a moved seam fails the start instead of adding a dead attribute.

| module | what it changes |
|---|---|
| `lambda_.py` | in-process Lambda: our handler modules run in this process, not in Docker |
| `ses.py` | SESv2 SendEmail capture (outbox, SES events), injected faults first |
| `stepfunctions.py` | AWS's SESv2 error names and timestamps, scaled retry sleeps; fast mode: caches, quiet logs |
| `fastpaths.py` | fast mode: DynamoDB update expressions, JSON copies, User-Agent, method lists |
| `dynamodb.py` | atomic item writes (moto evaluates a condition and writes without a lock) |
| `sqs.py` | fast mode: linear queue scans |
| `faults.py` | fault injection (random and scripted) |
| `powertools.py` | locks around the handlers' shared metric set and log keys |
| `../order_events.py` | EventBridge → SQS: InputPath and the queue policy |
| `../quotas.py`, `../shapes.py`, `../iam/enforce.py`, `../memory.py`, `../compact_items.py` | what AWS refuses; memory |
| `ordermail/bench/meters.py` | the bench's instruments (request counter, capacity meter) |
"""

from __future__ import annotations

import importlib

from .patches import Patches, SeamMissing, has_attribute, owner_name

__all__ = ["ADDED", "Patches", "SeamMissing", "has_attribute", "owner_name", "registry"]

# Every module with a SEAMS dict: name → (owner, attribute).
SEAM_MODULES = (
    "ordermail.emulator.seams.lambda_",
    "ordermail.emulator.seams.ses",
    "ordermail.emulator.seams.stepfunctions",
    "ordermail.emulator.seams.fastpaths",
    "ordermail.emulator.seams.dynamodb",
    "ordermail.emulator.seams.sqs",
    "ordermail.emulator.seams.faults",
    "ordermail.emulator.seams.powertools",
    "ordermail.emulator.quotas",
    "ordermail.emulator.shapes",
    "ordermail.emulator.iam.enforce",
    "ordermail.emulator.memory",
    "ordermail.emulator.compact_items",
    "ordermail.emulator.order_events",
    "ordermail.bench.meters",
)

# Attributes moto lacks and the runtime adds (Patches.add): each must NOT exist on the pinned moto.
ADDED = frozenset({"sesv2_get_account"})


def registry() -> dict[str, tuple[object, str]]:
    """Every registered seam, by name (a name registered twice must name the same attribute)."""
    seams: dict[str, tuple[object, str]] = {}
    for module_name in SEAM_MODULES:
        for name, target in importlib.import_module(module_name).SEAMS.items():
            if name in seams and seams[name] != target:
                raise RuntimeError(f"seam {name!r} names two attributes ({module_name})")
            seams[name] = target
    return seams
