"""Data parallelism: 8 fake CPU devices give the 1-device step, and the same with the state
sharded over an fsdp axis of 4; 2 processes agree."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.training.commands import free_port, multi_process_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _on_8_devices(script: str, out):
    """Runs tests/training/SCRIPT OUT on 8 fake CPU devices in a fresh process; its npz."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, script), str(out)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out)


def test_one_step_on_8_devices_equals_one_step_on_1_device(tmp_path):
    r = _on_8_devices("parallel_script.py", tmp_path / "r.npz")
    assert int(r["num_devices"]) == 8 and int(r["shards"]) == 8
    # The update itself is ~1e-3 (Adam's first step is ±lr); the mean over a sharded batch
    # only reorders float32 sums, so parameters agree to rounding.
    assert float(r["max_update"]) > 1e-4
    assert float(r["max_diff"]) < 1e-5, float(r["max_diff"])


def test_two_processes_train_identical_params_equal_to_one_process(tmp_path):
    overrides = {
        "train.num_steps": 4,
        "train.checkpoint_every": 4,
        "train.log_every": 2,
        "train.sample_every": 0,
        "data.batch_size": 32,
        "optim.warmup_steps": 1,
    }
    script = os.path.join(HERE, "train_script.py")

    def cmd(workdir, extra, out):
        args = [sys.executable, script, "configs/ddpm.py:ring", str(workdir)]
        return args + [json.dumps(dict(overrides, **extra)), str(out)]

    port = free_port()
    procs = []
    for pid in range(2):
        dist = {
            "distributed.num_processes": 2,
            "distributed.process_id": pid,
            "distributed.coordinator_address": f"127.0.0.1:{port}",
        }
        procs.append(
            subprocess.Popen(
                cmd(tmp_path / "multi", dist, tmp_path / f"p{pid}.npz"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=multi_process_env(),
            )
        )
    single = subprocess.run(
        cmd(tmp_path / "single", {}, tmp_path / "single.npz"),
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]
    p0, p1, one = (np.load(tmp_path / f) for f in ("p0.npz", "p1.npz", "single.npz"))
    assert int(p0["__step__"]) == int(p1["__step__"]) == int(one["__step__"]) == 4
    for k in p0.files:
        np.testing.assert_array_equal(p0[k], p1[k], err_msg=k)
        # Two devices sum the batch in another order than one: equal up to rounding.
        np.testing.assert_allclose(p0[k], one[k], atol=2e-5, rtol=1e-4, err_msg=k)
    # Both processes wrote into the one checkpoint directory of the run.
    assert sorted(os.listdir(tmp_path / "multi" / "checkpoints")) == ["4"]


def test_fsdp_step_equals_the_data_parallel_step_and_shards_the_state(tmp_path):
    r = _on_8_devices("fsdp_script.py", tmp_path / "fsdp.npz")
    assert float(r["max_update"]) > 1e-4
    assert float(r["max_diff"]) < 1e-6, float(r["max_diff"])
    # fsdp 4: every array of ≥ 256 elements (all but the biases and Adam's counts) is split
    # in four, and stays split after the step.
    ratio = float(r["sharded_bytes"]) / float(r["plain_bytes"])
    assert 0.25 <= ratio < 0.3, ratio
    assert int(r["sharded_bytes_after_step"]) == int(r["sharded_bytes"])
