"""The GAN algorithm: critic counter, checkpoint tree, weight clipping, config errors, smoke runs."""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from v101jax.algorithms import gan
from v101jax.core.errors import ConfigError
from v101jax.training.loop import example_batch, train_and_evaluate

GAN_CONFIGS = (
    "gan_mlp",
    "dcgan",
    "lsgan",
    "wgan",
    "wgan_gp",
    "hinge_sn",
    "cgan",
    "acgan",
)


def _batch(config, seed=0):
    batch = example_batch(config)
    rng = np.random.default_rng(seed)
    batch["x"] = rng.standard_normal(batch["x"].shape).astype(np.float32)
    batch["label"] = rng.integers(0, 8, batch["label"].shape).astype(np.int32)
    return batch


def _init(config, batch):
    # Compiled: flax's init run op by op costs more than compiling it.
    return jax.jit(functools.partial(gan.init, config))(jax.random.PRNGKey(0), batch)


@pytest.fixture(scope="module")
def wgan_clip_run():
    """Two steps of a weight-clipped WGAN with n_critic = 3 (critic batch 4, labels on)."""
    config = load_config(
        "configs/gan_mlp.py:smoke",
        {
            "data.batch_size": 12,
            "gan.n_critic": 3,
            "gan.loss": "wasserstein",
            "gan.clip_value": 0.01,
            "gan.conditioning": "projection",
            "gan.diversity_samples": 8,
        },
    )
    batch = _batch(config)
    state = _init(config, batch)
    step = jax.jit(functools.partial(gan.train_step, config))
    new_state, metrics = step(state, batch, jax.random.PRNGKey(1))
    new_state, metrics = step(new_state, _batch(config, 1), jax.random.PRNGKey(1))
    return config, state, new_state, metrics, step


def test_discriminator_advances_n_critic_steps_per_generator_step(wgan_clip_run):
    _, state, new_state, _, step = wgan_clip_run
    assert int(state.step) == 0 and int(state["disc"].step) == 0
    assert int(new_state.step) == 2 and int(new_state["gen"].step) == 2
    assert int(new_state["disc"].step) == 6
    # Adam's own counter saw the same number of discriminator updates.
    counts = [
        int(leaf)
        for leaf in jax.tree.leaves(new_state["disc"].opt_state)
        if jnp.ndim(leaf) == 0 and jnp.issubdtype(leaf.dtype, jnp.integer)
    ]
    assert 6 in counts
    assert step._cache_size() == 1


def test_unrolled_and_scanned_critic_updates_agree(wgan_clip_run):
    """gan.unroll_critic changes how the n_critic updates are compiled, not what they compute."""
    config, state, _, _, scan_step = wgan_clip_run
    assert not config.gan.unroll_critic
    with config.unlocked():
        unrolled = config.copy_and_resolve_references()
        unrolled.gan.unroll_critic = True
    batch = _batch(config)
    a, metrics_a = scan_step(state, batch, jax.random.PRNGKey(1))
    b, metrics_b = jax.jit(functools.partial(gan.train_step, unrolled))(
        state, batch, jax.random.PRNGKey(1)
    )
    assert int(b["disc"].step) == 3
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert float(metrics_a["d_loss"]) == pytest.approx(
        float(metrics_b["d_loss"]), rel=1e-5
    )


def test_weight_clipping_and_wasserstein_metrics(wgan_clip_run):
    _, state, new_state, metrics, _ = wgan_clip_run
    leaves = jax.tree.leaves(new_state["disc"].params)
    assert max(float(jnp.max(jnp.abs(p))) for p in leaves) <= 0.01 + 1e-7
    assert (
        max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state["disc"].params))
        > 0.01
    )
    expected = {
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "d_grad_norm",
        "g_grad_norm",
        "wasserstein_estimate",
        "diversity",
        "diversity_ratio",
        "g_learning_rate",
        "d_learning_rate",
    }
    assert expected <= set(metrics)
    assert float(metrics["wasserstein_estimate"]) == pytest.approx(
        float(metrics["d_real"] - metrics["d_fake"]), abs=1e-6
    )
    assert all(np.isfinite(float(v)) for v in metrics.values())


def test_checkpoint_tree_round_trips_into_the_abstract_state(wgan_clip_run):
    config, _, new_state, _, _ = wgan_clip_run
    init_fn = functools.partial(gan.init, config)
    abstract = jax.eval_shape(init_fn, jax.random.PRNGKey(0), _batch(config))
    tree = new_state.checkpoint_tree()
    assert set(tree) == {"gen", "disc"}
    restored = abstract.from_checkpoint_tree(tree)
    assert int(restored.step) == 2 and int(restored["disc"].step) == 6
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(new_state)):
        np.testing.assert_array_equal(a, b)


def test_conditional_sample_takes_labels(wgan_clip_run):
    config, _, new_state, _, _ = wgan_clip_run
    labels = jnp.array([0, 3, 3, 7])
    points = jax.jit(functools.partial(gan.sample, config, num_samples=4))(
        new_state, jax.random.PRNGKey(0), inputs={"labels": labels}
    )
    assert points.shape == (4, 2)
    unconditional = load_config("configs/gan_mlp.py:smoke")
    abstract = jax.eval_shape(
        functools.partial(gan.init, unconditional),
        jax.random.PRNGKey(0),
        _batch(unconditional),
    )
    with pytest.raises(ConfigError, match="conditional"):
        gan.sample(
            unconditional,
            abstract,
            jax.random.PRNGKey(0),
            4,
            inputs={"labels": labels},
        )


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"gan.loss": "wgan"}, "gan.loss"),
        ({"gan.n_critic": 5}, "gan.n_critic"),
        ({"gan.loss": "hinge", "gan.real_label": 0.9}, "gan.real_label"),
        ({"model.minibatch_std": 5}, "model.minibatch_std"),
        ({"model.minibatch_discrimination": 5}, "model.minibatch_discrimination"),
        ({"gan.conditioning": "film"}, "gan.conditioning"),
        ({"model.name": "dcgan"}, "model.name"),
    ],
)
def test_bad_values_name_the_field(overrides, field):
    config = load_config("configs/gan_mlp.py:smoke", overrides)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        gan.init(config, jax.random.PRNGKey(0), example_batch(config))


STABILISERS = {
    "gan.feature_matching": True,
    "gan.real_label": 0.9,
    "gan.r1_gamma": 1.0,
    "model.minibatch_std": 4,
    "model.minibatch_discrimination": 4,
    "model.minibatch_kernels": 8,
}


@pytest.mark.parametrize(
    "name, overrides",
    [(name, {}) for name in GAN_CONFIGS]
    + [
        ("gan_mlp", STABILISERS),
        ("dcgan", STABILISERS),
        (
            "dcgan",
            {
                "model.spectral_norm": True,
                "gan.conditioning": "projection",
                "gan.loss": "hinge",
            },
        ),
    ],
)
def test_smoke_presets_trace(name, overrides):
    """init, train_step and sample of every GAN config's smoke preset, traced without compiling."""
    config = load_config(f"configs/{name}.py:smoke", overrides)
    batch = example_batch(config)
    key = jax.random.PRNGKey(0)
    state = jax.eval_shape(functools.partial(gan.init, config), key, batch)
    new_state, metrics = jax.eval_shape(
        functools.partial(gan.train_step, config), state, batch, key
    )
    assert all(m.shape == () for m in metrics.values())
    samples = jax.eval_shape(
        functools.partial(gan.sample, config, num_samples=4), new_state, key
    )
    assert samples.shape[0] == 4


def test_mlp_smoke_preset_trains_from_the_loop(tmp_path):
    config = load_config("configs/gan_mlp.py:smoke")
    state = train_and_evaluate(config, str(tmp_path))
    assert int(state.step) == 2
    assert os.path.exists(tmp_path / "samples" / "step_000002.png")
    assert os.listdir(tmp_path / "checkpoints") == ["2"]
