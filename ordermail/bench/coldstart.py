"""Cold import time of each Lambda handler module: a fresh interpreter per measurement.

What a Lambda cold start pays for our code before the handler runs (INIT): Python start-up is not
included, the module's own imports (Powertools, pydantic, email-validator, boto3 for feedback) are.
The median of three fresh interpreters; measured on this machine, not on Lambda's arm64 CPUs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from ordermail.emulator.provision import HANDLERS, REPO_ROOT

_PROBE = (
    "import time, importlib, sys\n"
    "t = time.perf_counter()\n"
    "importlib.import_module(sys.argv[1])\n"
    "print((time.perf_counter() - t) * 1000)\n"
)


def _modules() -> dict[str, str]:
    modules = {}
    for key, handler in HANDLERS.items():
        module = handler.rpartition(".")[0]
        path = REPO_ROOT / Path(*module.split(".")).with_suffix(".py")
        if path.exists() and key != "status_api_function":
            modules[key.removesuffix("_function")] = module
    return modules


def cold_import_times(repeats: int = 3) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           "POWERTOOLS_TRACE_DISABLED": "true", "PYTHONDONTWRITEBYTECODE": "1"}
    results: dict[str, float] = {}
    for name, module in _modules().items():
        samples = []
        for _ in range(repeats):
            done = subprocess.run(  # noqa: S603 - our own interpreter and module names
                [sys.executable, "-c", _PROBE, module], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                timeout=120, check=False,
            )
            if done.returncode == 0:
                samples.append(float(done.stdout.strip().splitlines()[-1]))
        if samples:
            results[name] = round(statistics.median(samples), 1)
    return results
