"""Shared test settings: the repository root is importable (configs/, experiments/), and one
persistent JAX compilation cache serves the whole run.

The cache is keyed by the program and the JAX flags, so a hit is the executable that would
have been compiled: commands run as subprocesses (train, then sample the same run; a killed
run and its resumption) and test modules that build the same smoke programs compile each one
once. The directory is per run: the pytest process names it and its xdist workers and their
subprocesses inherit it, so nothing carries over between runs.
"""

import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(tempfile.gettempdir(), f"v101jax-tests-jax-cache-{os.getpid()}"),
)
# Programs that compile in under 0.2 s are cheaper to recompile than to read back.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
