"""The local runtime's functions have the timeout, memory and environment the synthesized stack gives
them: both read tasks/names.py (FUNCTION_LIMITS, function_environment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ordermail.emulator import LocalRuntime, RuntimeOptions
from ordermail.emulator.iam.template import synthesized_template
from tasks import names


def _template_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    functions = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            properties = resource["Properties"]
            functions[properties["FunctionName"]] = properties
    return functions


def test_runtime_functions_match_the_synthesized_stack(tmp_path: Path) -> None:
    deployed = _template_functions(synthesized_template("dev"))
    resource_names = names.resource_names("dev")
    with LocalRuntime(RuntimeOptions(outbox_dir=tmp_path)) as runtime:
        lam = runtime.client("lambda")
        for key in names.FUNCTION_LIMITS:
            name = resource_names[key]
            local = lam.get_function(FunctionName=name)["Configuration"]
            assert (local["Timeout"], local["MemorySize"]) == (deployed[name]["Timeout"], deployed[name]["MemorySize"]), name
            # Every variable the handler reads is set alike (CDK adds Powertools' own, the runtime its
            # process-wide ones); values differ only for the runtime's scaled claim lease and pacing wait, its quieter
            # log level (WARNING: a run of thousands of orders would print every INFO line).
            deployed_env = deployed[name]["Environment"]["Variables"]
            local_env = local["Environment"]["Variables"]
            shared = set(local_env) & set(deployed_env)
            assert set(local_env) - {names.ENV_ORDERMAIL_TIME_SCALE} <= set(deployed_env), name
            assert {k for k in shared if isinstance(deployed_env[k], str) and deployed_env[k] != local_env[k]} <= {
                names.ENV_CLAIM_LEASE_SECONDS, names.ENV_PACING_MAX_WAIT_SECONDS, names.ENV_LOG_LEVEL}, name
    assert names.FUNCTION_LIMITS["render_function"] == (15, 512)
