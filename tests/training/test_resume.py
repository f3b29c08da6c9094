"""Resuming: a run killed after a checkpoint and restarted ends bitwise where an unbroken run
ends; SIGTERM checkpoints and exits cleanly; a corrupt newest checkpoint falls back."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "train_script.py")
RING = {
    "train.num_steps": 20,
    "train.checkpoint_every": 5,
    "train.log_every": 5,
    "train.sample_every": 0,
    "data.batch_size": 64,
    "optim.warmup_steps": 2,
}


def run_script(workdir, out, overrides, *extra, check=True):
    cmd = [sys.executable, SCRIPT, "configs/ddpm.py:ring", str(workdir)]
    cmd += [json.dumps(overrides), str(out), *extra]
    proc = subprocess.run(
        cmd, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr[-3000:])
    return proc


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def checkpoint_steps(workdir):
    d = os.path.join(workdir, "checkpoints")
    return sorted(int(s) for s in os.listdir(d) if s.isdigit())


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    d = tmp_path_factory.mktemp("straight")
    run_script(d / "run", d / "params.npz", RING)
    return load(d / "params.npz"), d / "run"


def test_killed_and_resumed_run_matches_an_unbroken_run_bitwise(straight, tmp_path):
    straight, _ = straight
    workdir = tmp_path / "run"
    killed = run_script(
        workdir,
        tmp_path / "unused.npz",
        RING,
        "--kill_after_checkpoint=10",
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    assert checkpoint_steps(workdir) == [5, 10]  # died right after step 10 was saved
    resumed = run_script(workdir, tmp_path / "params.npz", RING)
    assert "restored step 10" in resumed.stderr
    assert "training steps 10 → 20" in resumed.stderr
    params = load(tmp_path / "params.npz")
    assert int(params["__step__"]) == 20 == int(straight["__step__"])
    assert params.keys() == straight.keys()
    for k in params:
        np.testing.assert_array_equal(params[k], straight[k], err_msg=k)


def test_rerunning_a_finished_run_changes_nothing(straight, tmp_path):
    params, workdir = straight
    before = checkpoint_steps(workdir)
    again = run_script(workdir, tmp_path / "b.npz", RING)
    assert "already trained to step 20" in again.stderr
    assert checkpoint_steps(workdir) == before
    rerun = load(tmp_path / "b.npz")
    for k in params:
        np.testing.assert_array_equal(rerun[k], params[k])


def test_sigterm_checkpoints_and_exits_cleanly_then_resumes(tmp_path):
    workdir = tmp_path / "run"
    long_run = dict(RING, **{"train.num_steps": 1_000_000, "train.checkpoint_every": 0})
    cmd = [sys.executable, SCRIPT, "configs/ddpm.py:ring", str(workdir)]
    cmd += [json.dumps(long_run), str(tmp_path / "p.npz")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines = []
    deadline = time.time() + 240
    for line in proc.stderr:
        lines.append(line)
        if "steps/s" in line or time.time() > deadline:  # training is under way
            break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "stop requested: saved step" in rest
    steps = checkpoint_steps(workdir)
    assert len(steps) == 1 and steps[0] > 0
    params = load(tmp_path / "p.npz")
    assert int(params["__step__"]) == steps[0]
    resumed = run_script(
        workdir, tmp_path / "q.npz", dict(RING, **{"train.num_steps": steps[0] + 5})
    )
    assert f"restored step {steps[0]}" in resumed.stderr
    assert int(load(tmp_path / "q.npz")["__step__"]) == steps[0] + 5


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(straight, tmp_path):
    """A copy of the finished run with its newest checkpoint's data emptied resumes from the
    one before and trains to the end again, equal to the unbroken run."""
    params, finished = straight
    workdir = tmp_path / "run"
    shutil.copytree(finished, workdir)
    steps = checkpoint_steps(workdir)
    assert steps[-1] == 20 and len(steps) >= 2
    data = os.path.join(workdir, "checkpoints", "20", "default", "d")
    shutil.rmtree(data)
    os.makedirs(data)
    resumed = run_script(workdir, tmp_path / "b.npz", RING)
    assert "could not be restored" in resumed.stderr
    assert f"restored step {steps[-2]}" in resumed.stderr
    again = load(tmp_path / "b.npz")
    assert int(again["__step__"]) == 20
    for k in params:
        np.testing.assert_array_equal(again[k], params[k], err_msg=k)
