"""cdk-nag (zero unacknowledged findings), cfn-lint (no errors), and `python app.py` as the CLI runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.infra.conftest import Synth
from workflow.app import CDK_JSON

FUNCTIONS = ("Workflow/Validate", "Workflow/Render", "Feedback/Processor", "StatusApi/Handler")


def test_cdk_nag_has_no_unacknowledged_findings(dev: Synth, prod: Synth) -> None:
    for synth in (dev, prod):
        findings = [
            f"{v['ruleName']}: {[c['constructPath'] for c in v['violatingConstructs']]}"
            for v in synth.nag_violations
        ]
        assert findings == [], synth.stack_name


EXPECTED_ACKNOWLEDGEMENTS = {
    *{(f"{fn}/Role", "AwsSolutions-IAM5[Resource::*]") for fn in FUNCTIONS},
    *{(f"{fn}/Function", "AwsSolutions-L1") for fn in FUNCTIONS},
    ("Workflow/StateMachine/Role", "AwsSolutions-IAM5[Resource::*]"),
    ("StatusApi/Api", "AwsSolutions-COG4"),
    ("StatusApi/Api", "AwsSolutions-APIG3"),
    ("OrdersApi/Api", "AwsSolutions-COG4"),
    ("OrdersApi/Api", "AwsSolutions-APIG3"),
    (
        "StatusApi/Api",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
    ),
}


def _acknowledged(synth: Synth) -> set[tuple[str, str]]:
    return {(path.removeprefix(f"{synth.stack_name}/"), rule) for path, rule, _ in synth.acknowledgements}


def test_acknowledgements_are_exactly_the_expected_ones_each_with_a_specific_reason(
    dev: Synth, prod: Synth
) -> None:
    # Level ERROR in dev: SF1 (log ALL) is acknowledged with the cost reason; prod logs ALL, no SF1.
    assert _acknowledged(dev) == EXPECTED_ACKNOWLEDGEMENTS | {("Workflow/StateMachine", "AwsSolutions-SF1")}
    assert _acknowledged(prod) == EXPECTED_ACKNOWLEDGEMENTS
    for _, rule, reason in dev.acknowledgements:
        assert len(reason) >= 80, (rule, reason)


def test_cfn_lint_finds_no_errors(dev: Synth, prod: Synth) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--non-zero-exit-code",
            "error",
            "--",
            str(dev.template_path),
            str(prod.template_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_py_synthesizes_from_any_directory_into_cdk_outdir(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path / "out"),
        # What the cdk CLI would pass; bundling skipped (test_bundling.py covers it).
        "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": [], "env": "test"}),
    }
    result = subprocess.run(
        [sys.executable, str(CDK_JSON.parent / "app.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "out" / "OrderMail-test.template.json").read_text())
    assert template["Outputs"]
    assert not (tmp_path / "cdk.out").exists()
