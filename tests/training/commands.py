"""Running the project's commands from tests: `python -m experiments.X` at the repo root."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOKE = "configs/ddim.py:smoke"


def run_module(module: str, *args, timeout=300) -> subprocess.CompletedProcess:
    """`python -m module args…` from the repository root, output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
