"""Shared fixtures of the training tests: one smoke run trained from the command line."""

import pytest

from tests.training.commands import SMOKE, run_module


@pytest.fixture(scope="session")
def trained_smoke_run(tmp_path_factory):
    """A workdir trained by `experiments.main` with the DDIM smoke preset (2 steps); the
    command's stdout and stderr are in ../output.txt beside it."""
    workdir = tmp_path_factory.mktemp("smoke") / "run"
    proc = run_module("experiments.main", f"--config={SMOKE}", f"--workdir={workdir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (workdir.parent / "output.txt").write_text(proc.stdout + proc.stderr)
    return workdir
