"""The evaluate command on .npz files and on a trained run (the loop's periodic evaluation is
tested in test_loop.py)."""

import json

import numpy as np
import pytest

from tests.training.commands import run_module
from v101jax.data import fashion_mnist


def evaluate(*args):
    return run_module("experiments.evaluate", *args)


@pytest.fixture(scope="module")
def real_and_noise_npz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("npz")
    images, labels = fashion_mnist.load("/usr/share/datasets/fashion-mnist", "train")
    np.savez(folder / "real.npz", images=images[:600], labels=labels[:600])
    noise = np.random.default_rng(0).integers(0, 256, images[:600].shape, np.uint8)
    np.savez(folder / "noise.npz", images=noise)
    np.savez(folder / "points.npz", points=np.zeros((5, 2), np.float32))
    return folder


def test_evaluate_command_scores_npz_files(real_and_noise_npz, tmp_path):
    results = {}
    for name in ("real", "noise"):
        proc = evaluate(
            f"--samples={real_and_noise_npz / (name + '.npz')}",
            f"--stats_dir={tmp_path}",
            "--json",
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[name] = json.loads(proc.stdout)["metrics"]
    real, noise = results["real"], results["noise"]
    # Real training images against the test split: close, sharp, covering; noise: none of it.
    assert real["fmnist_fd"] < noise["fmnist_fd"] / 20
    assert real["fmnist_precision"] > 0.6 and real["fmnist_recall"] > 0.6
    # Precision is lenient with outliers (a few real features have huge k-NN balls), so
    # noise is judged relative to real images; recall is strict.
    assert noise["fmnist_precision"] < real["fmnist_precision"] / 2
    assert noise["fmnist_recall"] < 0.05
    assert real["fmnist_class_accuracy"] > 0.9  # labels in the file were checked
    assert "fmnist_class_accuracy" not in noise


def test_evaluate_command_samples_a_run_and_prints_a_table(trained_smoke_run, tmp_path):
    proc = evaluate(
        f"--workdir={trained_smoke_run}",
        "--num_samples=30",
        "--batch_size=4",  # the smoke grid's size: one sampler compilation
        "--metrics=fd,is",
        f"--stats_dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "step: 2" in lines
    header = next(i for i, ln in enumerate(lines) if ln.split() == ["metric", "value"])
    table = dict(ln.split() for ln in lines[header + 1 :])
    assert set(table) == {"fmnist_fd", "fmnist_is", "fmnist_is_std"}
    assert float(table["fmnist_fd"]) > 0


def test_evaluate_command_errors_are_one_line(real_and_noise_npz, tmp_path):
    cases = [
        ([f"--samples={real_and_noise_npz / 'points.npz'}"], "`images` array"),
        (
            [f"--samples={real_and_noise_npz / 'real.npz'}", "--extractor=inception"],
            "convert_inception_weights",
        ),
        ([f"--samples={tmp_path / 'absent.npz'}"], "not found"),
        ([], "--workdir"),
    ]
    for args, expected in cases:
        proc = evaluate(*args, f"--stats_dir={tmp_path}")
        assert proc.returncode == 2, proc.stderr[-2000:]
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
        assert len(errors) == 1 and expected in errors[0], proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
