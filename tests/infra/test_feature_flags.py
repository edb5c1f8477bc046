"""CDK feature flags: every flag aws-cdk-lib knows is decided in cdk.json, at the recommended value
unless docs/FEATURE_FLAGS.md gives the reason; and what a flag changed in the output is kept."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synth
from tests.infra.tools import ROOT

# Flags set against aws-cdk-lib's recommendation, each with its line in docs/FEATURE_FLAGS.md.
AGAINST_RECOMMENDATION: dict[str, Any] = {}


def flag_report(synth: Synth) -> dict[str, dict[str, Any]]:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    flags: dict[str, dict[str, Any]] = manifest["artifacts"]["aws-cdk-lib/feature-flag-report"]["properties"][
        "flags"
    ]
    return flags


def test_every_flag_is_at_its_recommended_value(dev: Synth) -> None:
    report = flag_report(dev)
    assert len(report) > 50
    off = {}
    for name, flag in report.items():
        # What `cdk flags` counts: the value set, else what an unset flag means in v2.
        effective = flag.get("userValue", flag.get("unconfiguredBehavesLike", {}).get("v2", False))
        if effective != flag["recommendedValue"]:
            off[name] = effective
    assert off == AGAINST_RECOMMENDATION


def test_cdk_json_sets_only_flags_the_library_knows(dev: Synth) -> None:
    report = flag_report(dev)
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    unknown = [
        k
        for k in context
        if k.startswith("@aws-cdk") and k not in report and k != "@aws-cdk/core:target-partitions"
    ]
    assert unknown == []  # a typo in a flag name would silently do nothing


def test_flags_against_the_recommendation_are_explained() -> None:
    doc = (ROOT / "docs" / "FEATURE_FLAGS.md").read_text()
    for name in AGAINST_RECOMMENDATION:
        assert f"`{name}`" in doc


def test_explicit_stack_tags_keeps_the_stack_tagged(dev: Synth, prod: Synth) -> None:
    # explicitStackTags stops Tags.of(stack) from tagging the CloudFormation stack; the stack passes its
    # tags explicitly, so the CLI still tags the stack (and, through it, what the template cannot tag).
    assert flag_report(dev)["@aws-cdk/core:explicitStackTags"]["userValue"] is True
    for synth, env in ((dev, "dev"), (prod, "prod")):
        metadata = json.loads((synth.outdir / f"{synth.stack_name}.metadata.json").read_text())
        stack_tags = [
            entry["data"]
            for entries in metadata.values()
            for entry in entries
            if entry["type"] == "aws:cdk:stack-tags"
        ]
        assert stack_tags == [
            [{"key": "Environment", "value": env}, {"key": "Service", "value": "ordermail"}]
        ]
        # Resources keep their own tags in the template too (the budget filters on Service).
        table = next(r for r in synth.json["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
        assert {"Key": "Service", "Value": "ordermail"} in table["Properties"]["Tags"]
