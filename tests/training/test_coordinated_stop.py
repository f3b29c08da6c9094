"""Coordinated preemption: SIGTERM to one of two processes makes both checkpoint the same
step and exit 0, and the resumed run ends bitwise where an unbroken two-process run does."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from tests.training.commands import free_port, multi_process_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NUM_STEPS = 1000  # far more than pass between the signal and the stop
OVERRIDES = {
    "train.num_steps": NUM_STEPS,
    "train.checkpoint_every": 0,  # only the stop's checkpoint and the last step's
    "train.log_every": 25,
    "train.sample_every": 0,
    "train.stop_check_every": 7,
    "data.batch_size": 32,
    "optim.warmup_steps": 1,
}


def _start_pair(workdir, out_prefix, logs):
    """Both processes of one two-process run; their stderr goes to logs[0], logs[1]."""
    port = free_port()
    procs = []
    for pid in range(2):
        overrides = dict(
            OVERRIDES,
            **{
                "distributed.num_processes": 2,
                "distributed.process_id": pid,
                "distributed.coordinator_address": f"127.0.0.1:{port}",
            },
        )
        command = [
            sys.executable,
            os.path.join(HERE, "train_script.py"),
            "configs/ddpm.py:ring",
            str(workdir),
            json.dumps(overrides),
            f"{out_prefix}{pid}.npz",
        ]
        with open(logs[pid], "w") as log:
            procs.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd=ROOT,
                    env=multi_process_env(),
                )
            )
    return procs


def _wait(procs, logs):
    for p, log in zip(procs, logs):
        p.wait(timeout=600)
        assert p.returncode == 0, log.read_text()[-3000:]


def test_sigterm_to_one_process_stops_both_at_one_step_and_resumes_bitwise(tmp_path):
    work = tmp_path / "run"
    logs = [tmp_path / f"stop{i}.log" for i in range(2)]
    procs = _start_pair(work, tmp_path / "stopped", logs)
    deadline = time.time() + 300
    while f"step 50/{NUM_STEPS}" not in logs[0].read_text():
        assert time.time() < deadline and procs[0].poll() is None, logs[0].read_text()
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGTERM)  # process 1 only
    _wait(procs, logs)
    stopped = [np.load(tmp_path / f"stopped{i}.npz") for i in range(2)]
    step = int(stopped[0]["__step__"])
    assert int(stopped[1]["__step__"]) == step
    assert 50 <= step < NUM_STEPS and step % OVERRIDES["train.stop_check_every"] == 0
    assert sorted(os.listdir(work / "checkpoints")) == [str(step)]
    assert "received signal" in logs[1].read_text()
    assert "received signal" not in logs[0].read_text()

    resume_logs = [tmp_path / f"resume{i}.log" for i in range(2)]
    _wait(_start_pair(work, tmp_path / "resumed", resume_logs), resume_logs)
    whole_logs = [tmp_path / f"whole{i}.log" for i in range(2)]
    _wait(_start_pair(tmp_path / "whole", tmp_path / "whole", whole_logs), whole_logs)
    resumed = np.load(tmp_path / "resumed0.npz")
    whole = np.load(tmp_path / "whole0.npz")
    assert int(resumed["__step__"]) == int(whole["__step__"]) == NUM_STEPS
    for k in whole.files:
        np.testing.assert_array_equal(resumed[k], whole[k], err_msg=k)
