"""Synthesize once per session per context (dev defaults, a full prod context) and share the result.

Bundling is skipped here (`aws:cdk:bundling-stacks: []`); test_bundling.py runs the local bundler
on its own. cdk-nag runs inside the same synth: its report is part of the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from workflow.app import build_app
from workflow.context import OrderMailConfig

ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"  # construct metadata written by Validations.acknowledge
SKIP_BUNDLING: dict[str, Any] = {
    "aws:cdk:bundling-stacks": [],
    "@aws-cdk/core:validationReportJson": True,  # machine-readable cdk-nag report
}
PROD_CONTEXT: dict[str, Any] = {
    # Strings on purpose: that is how `-c key=value` arrives.
    "env": "prod",
    "domain": "mail.example.org",
    "fromAddress": "Orders@Mail.Example.org",
    "shopName": "Example Shop",
    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "alarmEmail": "ops@example.org",
    "publisherPrincipals": "arn:aws:iam::111111111111:role/order-service, arn:aws:iam::222222222222:root",
    "maxReceiveCount": "3",
    "logRetentionDays": "90",
    "executionLogLevel": "all",
    "monthlyBudgetUsd": "25",
}


@dataclass(frozen=True)
class Synth:
    outdir: Path
    stack_name: str
    config: OrderMailConfig
    json: dict[str, Any]
    template: Template
    nag_violations: list[dict[str, Any]]
    acknowledgements: list[tuple[str, str, str]]  # (construct path, rule id, reason)

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack_name}.template.json"


def synthesize(context: dict[str, Any], outdir: Path) -> Synth:
    app, stack = build_app({**SKIP_BUNDLING, **context}, outdir=str(outdir))
    try:
        app.synth()
    except RuntimeError as error:  # cdk-nag findings: keep the template, report below
        if "Validation failed" not in str(error):
            raise
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    violations = [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    acknowledgements = [
        (construct.node.path, rule_id.removeprefix("Annotation::"), reason)
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == ACKNOWLEDGED_RULES
        for rule_id, reason in entry.data.items()
    ]
    template_json = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synth(
        outdir=outdir,
        stack_name=stack.stack_name,
        config=stack.config,
        json=template_json,
        template=Template.from_json(template_json),
        nag_violations=violations,
        acknowledgements=acknowledgements,
    )


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize({}, tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(PROD_CONTEXT, tmp_path_factory.mktemp("cdk-prod"))
