"""Builds the CDK app: cdk.json context (+ overrides) → validated config → `OrderMailStack` + cdk-nag.

`app.py`, the tests and `npx cdk synth` all go through `build_app`, so they synthesize the
same thing. No AWS calls: the stack is env-agnostic and does no lookups.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from aws_cdk import App

from tasks import names
from workflow.context import load_config
from workflow.nag import add_nag_checks
from workflow.stack import OrderMailStack

CDK_JSON: Final = Path(__file__).resolve().parent.parent / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The `context` block of cdk.json: parameter defaults and feature flags."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return context


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None, nag: bool = True
) -> tuple[App, OrderMailStack]:
    """The app with its one stack. `context` overrides cdk.json; the cdk CLI's own context
    (CDK_CONTEXT_JSON: cdk.json plus `-c` values) takes precedence over both."""
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = load_config(app.node.try_get_context)
    stack = OrderMailStack(app, names.stack_name(config.env), config=config)
    if nag:
        add_nag_checks(app)
    return app, stack
