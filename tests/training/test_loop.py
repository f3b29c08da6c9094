"""The training loop in-process: smoke presets, compile-once, NaN stop, periodic actions."""

import dataclasses
import functools
import glob
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from v101jax import algorithms
from v101jax.algorithms import diffusion
from v101jax.core.errors import NonFiniteLossError
from v101jax.training.loop import example_batch, train_and_evaluate
from v101jax.training.periodic import is_time

RING = {
    "train.num_steps": 6,
    "train.checkpoint_every": 2,
    "train.log_every": 1,
    "train.sample_every": 3,
    "train.num_sample_images": 500,
    "data.batch_size": 32,
    "optim.warmup_steps": 0,
}


SMALL_EVAL = {
    "eval.every_steps": 2,
    "eval.num_samples": 40,
    # The smoke preset's grid size: the grid and evaluation share one compiled sampler.
    "eval.batch_size": 4,
    "eval.kid_subsets": 5,
    "eval.kid_subset_size": 20,
    "eval.is_splits": 2,
}


def _eval_scalars(workdir) -> dict:
    import tensorflow as tf

    values = {}
    for path in glob.glob(os.path.join(workdir, "events.out.tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                if v.tag.startswith("eval/"):
                    values[(event.step, v.tag)] = float(tf.make_ndarray(v.tensor))
    return values


def test_ddpm_smoke_preset_trains_evaluates_and_writes_a_grid(tmp_path):
    config = load_config("configs/ddpm.py:smoke", SMALL_EVAL)
    state = train_and_evaluate(config, str(tmp_path))
    assert int(state.step) == 2
    assert os.path.exists(tmp_path / "samples" / "step_000002.png")
    assert os.listdir(tmp_path / "checkpoints") == ["2"]
    scalars = _eval_scalars(tmp_path)
    for name in ("fd", "kid", "is", "precision", "recall"):
        assert np.isfinite(scalars[(2, f"eval/fmnist_{name}")]), name
    assert scalars[(2, "eval/fmnist_fd")] > 1.0  # two steps of training give noise
    cache = tmp_path / "eval_stats" / "fashion_mnist_test__fashion_mnist_classifier.npz"
    with np.load(cache) as f:
        assert str(f["extractor"]).startswith("fashion_mnist_classifier@")
        assert int(f["count"]) == 10_000


def test_conditional_ring_run_writes_plots_keeps_checkpoints_and_exports_labels(
    tmp_path,
):
    """A class-conditional (classifier-free guidance) ring run through the loop, then the
    export with a class list: labels in equal blocks in the .npz and one plot per class."""
    from v101jax.training.export import export_samples

    config = load_config(
        "configs/cfg.py:ring", dict(RING, **{"train.keep_checkpoints": 2})
    )
    train_and_evaluate(config, str(tmp_path))
    assert sorted(os.listdir(tmp_path / "samples")) == [
        "step_000003.png",
        "step_000006.png",
    ]
    assert sorted(int(s) for s in os.listdir(tmp_path / "checkpoints")) == [4, 6]

    out = tmp_path / "export.npz"
    export_samples(
        str(tmp_path),
        7,
        sample_flags={"sampler": "ddim", "steps": 3, "guidance": 2.0},
        batch_size=4,
        out=str(out),
        classes=[1, 6],
    )
    with np.load(out) as f:
        np.testing.assert_array_equal(f["labels"], [1, 1, 1, 1, 6, 6, 6])
        assert f["points"].shape == (7, 2) and np.isfinite(f["points"]).all()
    assert os.path.exists(tmp_path / "export_class1.png")
    assert os.path.exists(tmp_path / "export_class6.png")


def test_train_step_compiles_once_across_calls():
    config = load_config("configs/ddpm.py:ring", RING)
    batch = example_batch(config)
    state = diffusion.init(config, jax.random.PRNGKey(0), batch)
    step = jax.jit(functools.partial(diffusion.train_step, config), donate_argnums=(0,))
    key = jax.random.PRNGKey(1)
    for i in range(3):
        batch = {k: v + i for k, v in batch.items()}
        state, _ = step(state, batch, key)
    assert step._cache_size() == 1
    assert int(state.step) == 3


def test_non_finite_loss_stops_with_the_step_and_last_good_checkpoint(
    tmp_path, monkeypatch
):
    def nan_from_step_3(config, state, batch, rng):
        new_state, metrics = diffusion.train_step(config, state, batch, rng)
        loss = jnp.where(state.step >= 2, jnp.nan, metrics["loss"])
        return new_state, dict(metrics, loss=loss)

    broken = dataclasses.replace(diffusion.ALGORITHM, train_step=nan_from_step_3)
    monkeypatch.setitem(algorithms.REGISTRY, "diffusion", broken)
    config = load_config("configs/ddpm.py:ring", RING)
    with pytest.raises(NonFiniteLossError) as info:
        train_and_evaluate(config, str(tmp_path))
    message = str(info.value)
    assert "loss" in message and "step 3" in message
    assert "last good checkpoint is step 2" in message
    assert os.listdir(tmp_path / "checkpoints") == [
        "2"
    ]  # the NaN state was never saved


def test_is_time_fires_on_multiples_and_the_last_step():
    fired = [s for s in range(1, 11) if is_time(s, 4, 10)]
    assert fired == [4, 8, 10]
    assert [s for s in range(1, 11) if is_time(s, 4, 10, last=False)] == [4, 8]
    assert not any(is_time(s, 0, 10) for s in range(1, 11))


def test_example_batch_matches_the_data_shapes():
    batch = example_batch(load_config("configs/ddpm.py:smoke"))
    assert batch["x"].shape == (8, 28, 28, 1) and batch["x"].dtype == np.float32
    assert batch["label"].shape == (8,)
