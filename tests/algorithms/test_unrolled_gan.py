"""Unrolled GAN (gan.unroll_steps, Metz et al. 2017): k = 0 is the ordinary step; with k > 0
the generator's gradient is taken through the look-ahead updates (checked by finite
differences), the trained discriminator keeps its ordinary update, and on the ring, with a
discriminator ten times slower than its generator, unrolling covers the modes the ordinary
GAN collapses from."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.algorithms.test_gan_learning import covers_the_ring, train
from v101jax.algorithms import gan
from v101jax.core.errors import ConfigError
from v101jax.training.loop import example_batch


def _batch(config, seed):
    batch = example_batch(config)
    rng = np.random.default_rng(seed)
    batch["x"] = (2 * rng.standard_normal(batch["x"].shape)).astype(np.float32)
    return batch


def _tiny(unroll_steps, **fields):
    return load_config(
        "configs/gan_mlp.py:smoke",
        {
            "data.batch_size": 16,
            "model.hidden": 8,
            "model.num_layers": 1,
            "gan.unroll_steps": unroll_steps,
            "gan.diversity_samples": 0,
            **fields,
        },
    )


@pytest.fixture(scope="module")
def trained_pair():
    """A tiny G/D after 20 ordinary steps, so that D's Adam moments are not fresh (on a
    fresh Adam the first update is nearly lr · sign(g), whose derivative vanishes)."""
    config = _tiny(0)
    state = jax.jit(functools.partial(gan.init, config))(
        jax.random.PRNGKey(0), _batch(config, 0)
    )
    step = jax.jit(functools.partial(gan.train_step, config))
    for i in range(20):
        state, _ = step(state, _batch(config, i), jax.random.PRNGKey(1))
    return state


def _step_both(trained_pair, k, **fields):
    config = _tiny(k, **fields)
    step = jax.jit(functools.partial(gan.train_step, config))
    return step(trained_pair, _batch(config, 99), jax.random.PRNGKey(3))


def test_zero_unroll_steps_is_the_ordinary_step_bitwise(trained_pair):
    config = _tiny(0)
    with config.unlocked():
        del config.gan["unroll_steps"]  # a config from before the field existed
    ordinary = jax.jit(functools.partial(gan.train_step, config))(
        trained_pair, _batch(config, 99), jax.random.PRNGKey(3)
    )
    zero = _step_both(trained_pair, 0)
    for a, b in zip(jax.tree.leaves(ordinary), jax.tree.leaves(zero), strict=True):
        np.testing.assert_array_equal(a, b)


def test_unrolling_changes_the_generator_only(trained_pair):
    (plain, _), (unrolled, metrics) = (_step_both(trained_pair, k) for k in (0, 3))
    for a, b in zip(
        jax.tree.leaves(plain["disc"]), jax.tree.leaves(unrolled["disc"]), strict=True
    ):
        np.testing.assert_array_equal(a, b)  # D's own update is the ordinary one
    diff = jax.tree.map(
        lambda a, b: float(jnp.max(jnp.abs(a - b))),
        plain["gen"].params,
        unrolled["gen"].params,
    )
    assert max(jax.tree.leaves(diff)) > 1e-6, diff
    assert np.isfinite(float(metrics["g_loss"]))


def _loss_and_grad(config, state, batch, key, *, through_lookahead=True):
    gen, disc = state["gen"], state["disc"]

    def loss(params):
        if through_lookahead:
            return gan.generator_loss(config, gen, disc, batch, key, params)[0]
        # The look-ahead discriminator held fixed: the gradient a stop_gradient would give.
        # The keys are generator_loss's: split(key) = (G's z key, the look-ahead's key).
        unroll_key = jax.random.split(key)[1]
        ahead = gan.lookahead_discriminator(
            config, gen, jax.lax.stop_gradient(params), disc, batch, unroll_key
        )
        plain = _tiny(0)
        return gan.generator_loss(
            plain, gen, ahead, batch, jax.random.split(key)[0], params
        )[0]

    return jax.jit(loss), jax.jit(jax.grad(loss))


# Small enough that no ReLU of G or D changes side along these directions, large enough that
# float32 rounding stays far below the tolerance.
EPS = 3e-4


def _dot(tree, direction) -> float:
    return sum(
        float(jnp.vdot(a, b))
        for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(direction), strict=True)
    )


def test_generator_gradient_goes_through_the_lookahead_updates(trained_pair):
    """The autodiff gradient of the unrolled loss along random directions equals its
    central finite difference; the gradient with the look-ahead held fixed does not."""
    config = _tiny(3, **{"d_optim.learning_rate": 0.05})
    batch = _batch(config, 7)
    key = jax.random.PRNGKey(11)
    loss, grad = _loss_and_grad(config, trained_pair, batch, key)
    _, fixed_grad = _loss_and_grad(
        config, trained_pair, batch, key, through_lookahead=False
    )
    params = trained_pair["gen"].params
    g, g_fixed = grad(params), fixed_grad(params)
    rng = np.random.default_rng(0)
    through, fixed = [], []
    for _ in range(3):
        u = jax.tree.map(
            lambda p: jnp.asarray(rng.standard_normal(p.shape), p.dtype), params
        )
        plus = jax.tree.map(lambda p, d: p + EPS * d, params, u)
        minus = jax.tree.map(lambda p, d: p - EPS * d, params, u)
        fd = (float(loss(plus)) - float(loss(minus))) / (2 * EPS)
        through.append((_dot(g, u), fd))
        fixed.append(_dot(g_fixed, u))
    # Normwise over the directions: one nearly orthogonal to the gradient has a directional
    # derivative near zero, where float32 rounding of the loss alone is a large relative error.
    autodiffs, fds = np.array(through).T
    assert np.linalg.norm(autodiffs - fds) <= 1e-2 * np.linalg.norm(fds), through
    # The look-ahead's own dependence on G is a measurable part of the gradient.
    gaps = [abs(held - fd) for (_, fd), held in zip(through, fixed, strict=True)]
    # (three times the tolerance: a gradient that stopped at the look-ahead would fail)
    assert max(gaps) > 0.03 * max(abs(fd) for _, fd in through), (through, fixed)


def test_negative_unroll_steps_names_the_field():
    config = _tiny(-1)
    with pytest.raises(ConfigError, match="gan.unroll_steps"):
        gan.validate(config)


def test_unrolling_covers_the_ring_the_ordinary_gan_collapses_on():
    """configs/gan_mlp.py:unrolled (D at a tenth of G's learning rate, k = 5) covers the
    ring; the same settings with k = 0 collapse."""
    config = load_config("configs/gan_mlp.py:unrolled")
    assert config.gan.unroll_steps == 5
    state, metrics = train(config)
    ok, stats = covers_the_ring(config, state)
    assert ok, (stats, metrics)
    config.gan.unroll_steps = 0
    state, metrics = train(config)
    ok, stats = covers_the_ring(config, state)
    assert not ok, (stats, metrics)
    assert metrics["diversity_ratio"] < 0.8, metrics
