"""experiments.compare: the smoke preset's two runs train, are scored by one evaluator and fill
every column of the table; a rerun reuses them; presets train first stages first."""

import csv
import math
import os

from tests.training.commands import run_module
from v101jax.training import comparison


def test_runs_that_need_a_first_stage_train_after_it_and_reused_runs_not_at_all():
    order = [e.name for e in comparison.training_order(comparison.CPU)]
    assert order.index("ldm_autoencoder") < order.index("LDM")
    assert "DDIM" not in order  # DDPM's run, sampled with DDIM
    assert sorted(order) == sorted(e.name for e in comparison.CPU if not e.run)
    ddim = next(e for e in comparison.CPU if e.name == "DDIM")
    assert comparison.workdir(comparison.CPU, ddim, "R") == os.path.join("R", "DDPM")


def test_the_smoke_comparison_fills_every_column_and_reruns_from_its_runs(tmp_path):
    root = str(tmp_path / "compare")
    args = (
        "experiments.compare",
        "--preset=smoke",
        f"--root={root}",
        "--num_samples=64",
        "--timing_batch=4",
    )
    env = {"JAX_THREEFRY_PARTITIONABLE": "0"}
    result = run_module(*args, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(root, "comparison.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == ["DDIM", "DCGAN"]
    for row in rows:
        for column in comparison.COLUMNS:
            assert row[column] not in ("", "nan"), (column, row)
        for column in ("fd", "is", "train_s", "ms_per_image", "peak_memory_mib"):
            value = float(row[column])
            assert math.isfinite(value) and value > 0, (column, row)
        assert row["extractor"].startswith("fashion_mnist_classifier")
    with open(os.path.join(root, "comparison.md")) as f:
        table = f.read()
    assert table.count("\n") == 4 and "nan" not in table
    assert os.path.getsize(os.path.join(root, "comparison.png")) > 0
    # A rerun trains nothing and reads the cached scores.
    again = run_module(*args, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("reused") == 2, again.stderr[-3000:]
    assert again.stdout == result.stdout
