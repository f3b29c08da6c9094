"""Running the project's commands from tests: `python -m experiments.X` at the repo root."""

import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOKE = "configs/ddim.py:smoke"


def run_module(
    module: str, *args, timeout=300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`python -m module args…` from the repository root, output captured; `env` adds to
    the environment."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )


def free_port() -> int:
    """A TCP port of this machine free at the time of the call (a coordinator's)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multi_process_env() -> dict:
    """The environment for the processes of a multi-process run: this one's without the
    persistent compilation cache. On jax 0.12.1's CPU backend, processes that find their
    train step in the cache (a resumed run after the stopped one wrote it) hang in their
    first collective; each process compiling its own costs seconds here."""
    return {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
