"""Checks from outside the project: asl-validator on the state machine definition as deployed
(placeholders filled from the synthesized template), checkov on the synthesized templates."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import Synth
from tests.infra.helpers import ACCOUNT, REGION, resources
from tests.infra.tools import CHECKOV, NODE_BIN, ROOT, offline_env, tool

NAME_PROPERTIES = ("TableName", "Name", "FunctionName", "QueueName", "TopicName")


def _resolve(template: dict[str, Any], value: Any) -> str:
    """A DefinitionSubstitutions value as CloudFormation would fill it, for the intrinsics the stack
    uses there; anything else fails loudly rather than validating a made-up definition."""
    if isinstance(value, str):
        return value
    ((fn, arg),) = value.items()
    if fn == "Ref":
        props = template["Resources"][arg].get("Properties", {})
        name = next((props[p] for p in NAME_PROPERTIES if isinstance(props.get(p), str)), arg)
        return str(name)
    if (
        fn == "Fn::GetAtt"
        and template["Resources"][arg[0]]["Type"] == "AWS::Lambda::Function"
        and arg[1] == "Arn"
    ):
        name = template["Resources"][arg[0]]["Properties"].get("FunctionName", arg[0])
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    raise AssertionError(f"no resolver for the substitution {value!r}")


def rendered_definitions(synth: Synth) -> dict[str, str]:
    definitions = {}
    for logical_id, resource in resources(synth.json, "AWS::StepFunctions::StateMachine").items():
        props = resource["Properties"]
        text = props["DefinitionString"]
        assert isinstance(text, str), "the definition is expected as one string with ${Placeholders}"
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            text = text.replace("${" + key + "}", _resolve(synth.json, value))
        assert not re.search(r"\$\{[A-Za-z]", text), f"unfilled placeholder in {logical_id}"
        definitions[logical_id] = text
    return definitions


def test_asl_validator_accepts_the_deployed_definition(dev: Synth, prod: Synth, tmp_path: Path) -> None:
    validator = tool(NODE_BIN / "asl-validator")
    for synth in (dev, prod):
        definitions = rendered_definitions(synth)
        assert definitions, synth.stack_name
        for logical_id, text in definitions.items():
            json.loads(text)  # well-formed before anything else
            path = tmp_path / f"{synth.stack_name}-{logical_id}.json"
            path.write_text(text)
            # Path expressions and Resource ARNs are checked too (the defaults).
            result = subprocess.run(
                [str(validator), "--json-path", str(path)],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
            assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(dev: Synth, tmp_path: Path) -> None:
    # The check can fail: a Next that names no state is reported.
    validator = tool(NODE_BIN / "asl-validator")
    definition = json.loads(next(iter(rendered_definitions(dev).values())))
    start = definition["States"][definition["StartAt"]]
    start["Next"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(definition))
    result = subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode != 0
    assert "NoSuchState" in result.stdout + result.stderr


def _checkov(*templates: Path) -> dict[str, Any]:
    checkov = tool(CHECKOV)
    args = [str(checkov), "--config-file", str(ROOT / ".checkov.yaml"), "-o", "json"]
    for template in templates:
        args += ["-f", str(template)]
    # Proxies on a dead port too: checkov must not phone home (skip-download in .checkov.yaml).
    env = offline_env(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="")
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, env=env, timeout=600)
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    (cloudformation,) = [r for r in reports if r["check_type"] == "cloudformation"]
    return {"returncode": result.returncode, **cloudformation}


def test_checkov_passes_the_synthesized_templates(dev: Synth, prod: Synth) -> None:
    report = _checkov(dev.template_path, prod.template_path)
    failed = sorted({(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]})
    assert failed == [], failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100  # it did check the resources
    assert report["returncode"] == 0


def test_every_skipped_checkov_check_has_its_reason() -> None:
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    start = lines.index("skip-check:")
    previous = ""
    skipped = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        entry = line.strip()
        if entry.startswith("- "):
            assert previous.startswith("#") and len(previous) > 40, f"{entry}: no reason above it"
            skipped.append(entry[2:])
        previous = entry
    assert skipped and all(re.fullmatch(r"CKV2?_AWS_\d+", s) for s in skipped), skipped


def test_checkov_reports_an_unencrypted_queue(dev: Synth, tmp_path: Path) -> None:
    # The scan can fail: a queue stripped of its KMS key is reported (CKV_AWS_27, not skipped).
    template = json.loads(dev.template_path.read_text())
    queues = resources(template, "AWS::SQS::Queue")
    assert queues
    for queue in queues.values():
        queue["Properties"].pop("KmsMasterKeyId", None)
        queue["Properties"].pop("SqsManagedSseEnabled", None)
    path = tmp_path / "unencrypted.template.json"
    path.write_text(json.dumps(template))
    report = _checkov(path)
    assert "CKV_AWS_27" in {f["check_id"] for f in report["results"]["failed_checks"]}
    assert report["returncode"] != 0


@pytest.mark.parametrize("name", ["asl-validator", "cdk"])
def test_node_tools_are_the_pinned_versions(name: str) -> None:
    tool(NODE_BIN / name)
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    package = "aws-cdk" if name == "cdk" else name
    installed = json.loads((ROOT / "node_modules" / package / "package.json").read_text())["version"]
    assert installed == pinned[package]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned[package]), "exact pins only"
