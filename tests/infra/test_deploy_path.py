"""The README's deploy path as written: `make install`, then the pinned CDK CLI (`npx cdk ...`)
runs cdk.json's app, which finds the project's venv without it being activated. Up to `cdk synth`
only: fake credentials, AWS endpoints on a dead loopback port, no AWS account needed."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.infra.tools import NODE_BIN, ROOT, offline_env, tool


def readme_deploy_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "the Deploy section has a command block"
    # Join continued lines, drop comments.
    text = block.group(1).replace("\\\n", " ")
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def test_readme_deploys_with_make_install_and_the_pinned_cli() -> None:
    commands = readme_deploy_commands()
    assert commands[0] == "make install"
    assert "npx cdk synth" in commands
    assert any(c.startswith("npx cdk deploy ") for c in commands)
    # Every CDK command uses the pinned local CLI: `npx aws-cdk@2` would fetch whatever is newest.
    assert all(c.startswith(("make ", "npx cdk ", ".venv/bin/ordermail ")) for c in commands), commands
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^install: .*\$\(NODE_STAMP\)", makefile, re.M)
    assert "npm ci" in makefile


def test_npx_cdk_synth_as_the_readme_gives_it(tmp_path: Path) -> None:
    tool(NODE_BIN / "cdk")
    npx = shutil.which("npx")
    assert npx, "npx (Node 20+) is on PATH"
    # PATH without this interpreter's venv: the CLI's `python3` must not be the venv's by accident.
    venv_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p and p != venv_bin)
    env = offline_env(
        PATH=path,
        CDK_DISABLE_VERSION_CHECK="1",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    for name in ("VIRTUAL_ENV", "PYTHONHOME", "CDK_OUTDIR", "CDK_CONTEXT_JSON"):
        env.pop(name, None)
    out = tmp_path / "cdk.out"
    readme_synth = next(c for c in readme_deploy_commands() if c.startswith("npx cdk synth"))
    # Only additions: no notices fetched, and the output kept out of the work tree.
    command = [*shlex.split(readme_synth), "--no-notices", "--output", str(out)]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=900
    )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    template = json.loads((out / "OrderMail-dev.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::StepFunctions::StateMachine", "AWS::Pipes::Pipe", "AWS::DynamoDB::Table"} <= types
    # A deployable assembly: the Lambda asset was bundled, and the stack carries its tags.
    assets = json.loads((out / "OrderMail-dev.assets.json").read_text())["files"]
    assert any((out / a["source"]["path"] / "tasks" / "__init__.py").is_file() for a in assets.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["artifacts"]["OrderMail-dev"]["properties"]["tags"] == {
        "Environment": "dev",
        "Service": "ordermail",
    }


def test_cdk_app_says_what_to_do_without_a_venv(tmp_path: Path) -> None:
    # A copy outside the repo has no .venv next to it; -S hides site-packages, so no aws_cdk either.
    (tmp_path / "bin").mkdir()
    shutil.copy(ROOT / "bin" / "cdk-app", tmp_path / "bin" / "cdk-app")
    result = subprocess.run(
        [sys.executable, "-S", str(tmp_path / "bin" / "cdk-app")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "make install" in result.stderr
