#!/usr/bin/env python3
"""CDK entry point: `python3 app.py` (writes to $CDK_OUTDIR or ./cdk.out) or `npx cdk synth`.

Parameters come from CDK context (cdk.json defaults, `-c key=value` overrides), e.g.
    npx cdk deploy -c env=prod -c domain=shop.example -c fromAddress=orders@shop.example
"""

from __future__ import annotations

import sys
from pathlib import Path

# Independent of the working directory: `tasks` and `workflow` live next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workflow.app import build_app


def main() -> None:
    app, _stack = build_app()
    app.synth()


if __name__ == "__main__":
    main()
