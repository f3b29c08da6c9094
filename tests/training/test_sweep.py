"""The sweep command: grid/zip/product expansion, run-directory names, the mean ± std over
seeds against NumPy, and two tiny β-VAE runs end to end (table, CSV, plot; a rerun skips
finished points and finishes an unfinished one)."""

import csv
import itertools
import os

import numpy as np
import pytest

from tests.training.commands import run_module
from v101jax.training import sweep


def test_grid_is_every_combination_first_field_slowest():
    points = sweep.grid({"a.x": [1, 2, 3], "b.y": ["p", "q"], "seed": [0, 1]})
    expected = [
        {"a.x": x, "b.y": y, "seed": s}
        for x, y, s in itertools.product([1, 2, 3], ["p", "q"], [0, 1])
    ]
    assert points == expected


def test_zipped_pairs_values_and_rejects_unequal_lists():
    assert sweep.zipped({"a.x": [1, 2], "a.y": [10, 20]}) == [
        {"a.x": 1, "a.y": 10},
        {"a.x": 2, "a.y": 20},
    ]
    with pytest.raises(ValueError, match="one length"):
        sweep.zipped({"a.x": [1, 2], "a.y": [10]})
    with pytest.raises(ValueError, match="non-empty list"):
        sweep.grid({"a.x": "12"})


def test_product_merges_parts_and_rejects_a_field_in_two():
    points = sweep.product(
        sweep.fixed({"train.num_steps": 5}),
        sweep.zipped({"a.x": [1, 2], "a.y": [3, 4]}),
        sweep.grid({"seed": [0, 1]}),
    )
    assert len(points) == 4
    assert all(p["train.num_steps"] == 5 for p in points)
    assert [(p["a.x"], p["a.y"], p["seed"]) for p in points] == [
        (1, 3, 0),
        (1, 3, 1),
        (2, 4, 0),
        (2, 4, 1),
    ]
    with pytest.raises(ValueError, match="two swept parts"):
        sweep.product(sweep.grid({"seed": [0]}), sweep.grid({"seed": [1]}))


def test_names_come_from_the_varying_fields_only():
    points = sweep.product(
        sweep.fixed({"train.num_steps": 5}),
        sweep.grid({"model.widths": [(8, 8), (16,)], "seed": [0, 1]}),
    )
    assert sweep.varying_fields(points) == ["model.widths", "seed"]
    assert sweep.point_names(points) == [
        # Characters a shell would need quoted become "_".
        "model.widths=_8,8_,seed=0",
        "model.widths=_8,8_,seed=1",
        "model.widths=_16,_,seed=0",
        "model.widths=_16,_,seed=1",
    ]
    assert sweep.flag_args(points[2])[1] == "--config.model.widths=(16,)"
    assert sweep.point_names(sweep.fixed({"seed": 3})) == ["run"]
    with pytest.raises(ValueError, match="repeat"):
        sweep.point_names([{"a.x": 1}, {"a.x": 1}, {"a.x": 2}])


def test_summary_is_the_mean_and_sample_std_over_seeds():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 3))
    rows = [
        {"a.x": x, "seed": s, "eval/m": float(values[i, s])}
        for i, x in enumerate([1, 2])
        for s in range(3)
    ]
    summary = sweep.summarize(rows, ["a.x", "seed"], ["eval/m"])
    assert [e["a.x"] for e in summary] == ["1", "2"] and summary[0]["runs"] == 3
    for i, entry in enumerate(summary):
        mean, std = entry["eval/m"]
        assert mean == pytest.approx(values[i].mean())
        assert std == pytest.approx(values[i].std(ddof=1))
    table = sweep.markdown_table(summary, ["a.x", "seed"], ["eval/m"])
    assert table.splitlines()[0] == "| a.x | runs | eval/m |"
    assert f"{values[1].mean():.4g} ± " in table.splitlines()[3]


def _sweep_command(tmp_path, *extra):
    definition = tmp_path / "betas.py"
    definition.write_text(
        "from v101jax.training.sweep import fixed, grid, product\n"
        "def get_sweep():\n"
        "    return product(fixed({'eval.every_steps': 2, 'eval.extractor': 'none'}),\n"
        "                   grid({'autoencoder.beta': [1.0, 4.0]}))\n"
    )
    return [
        "--config=configs/beta_vae.py:smoke",
        f"--sweep={definition}",
        f"--root={tmp_path / 'root'}",
        *extra,
    ]


def _run(args):
    return run_module(
        "experiments.sweep", *args, timeout=600, env={"JAX_THREEFRY_PARTITIONABLE": "0"}
    )


def test_two_runs_give_the_table_and_a_rerun_finishes_only_what_is_missing(tmp_path):
    command = _sweep_command(tmp_path, "--metrics=eval/recon_mse,train/kl_weight")
    first = _run(command)
    assert first.returncode == 0, first.stderr[-2000:]
    root = tmp_path / "root"
    names = ["autoencoder.beta=1.0", "autoencoder.beta=4.0"]
    with open(root / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["autoencoder.beta"] for r in rows] == ["1.0", "4.0"]
    # The smoke run has no KL warm-up: the logged KL weight is β itself.
    assert [float(r["train/kl_weight"]) for r in rows] == [1.0, 4.0]
    assert all(float(r["eval/recon_mse"]) > 0 for r in rows)
    assert (
        first.stdout.splitlines()[0]
        == "| autoencoder.beta | runs | eval/recon_mse | train/kl_weight |"
    )
    assert (root / "results.md").read_text() == first.stdout
    assert (root / "results_eval_recon_mse.png").stat().st_size > 1000

    logs = {n: (root / f"{n}.log").read_text() for n in names}
    os.remove(root / names[1] / sweep.METRICS_FILE)  # as if killed before it finished
    second = _run(command)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "2 points, 1 finished, 1 to run" in second.stderr
    assert (root / f"{names[0]}.log").read_text() == logs[names[0]]  # not run again
    assert (root / f"{names[1]}.log").read_text() != logs[names[1]]
    assert sweep.is_finished(str(root / names[1]))


def test_a_field_the_config_lacks_fails_before_anything_trains(tmp_path):
    result = _run(_sweep_command(tmp_path, "--set=autoencoder.betta=2"))
    assert result.returncode == 2
    assert "autoencoder.betta" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "root").exists()
