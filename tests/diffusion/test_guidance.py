"""Classifier-free guidance: the guided combination, w = 0, and label dropout in training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import cfg, ddpm
from v101jax.algorithms import diffusion
from v101jax.core.errors import ConfigError
from v101jax.diffusion import denoiser, guidance
from v101jax.diffusion.schedules import schedule_from_config

NULL = 4


def toy_network(x, t, labels):
    """A network whose output depends on x, t and the label (null label included)."""
    scale = 1.0 + 0.3 * labels.astype(jnp.float32) + 0.01 * t
    return jnp.sin(x * scale[:, None]) + labels[:, None] * 0.5


def inputs():
    x = jax.random.normal(jax.random.PRNGKey(0), (6, 3))
    t = jnp.arange(6, dtype=jnp.int32) * 7
    labels = jnp.array([0, 1, 2, 3, 0, 1], jnp.int32)
    return x, t, labels


def test_guided_output_is_the_extrapolation_of_two_separate_calls():
    x, t, labels = inputs()
    w = 2.5
    cond = toy_network(x, t, labels)
    uncond = toy_network(x, t, jnp.full_like(labels, NULL))
    expected = (1 + w) * np.asarray(cond) - w * np.asarray(uncond)
    got = guidance.guided_output(toy_network, x, t, labels, jnp.float32(w), NULL)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(got, cond)


@pytest.mark.parametrize("w", [0.0, jnp.float32(0.0)], ids=["python", "traced"])
def test_zero_guidance_is_the_conditional_model(w):
    x, t, labels = inputs()
    got = guidance.guided_output(toy_network, x, t, labels, w, NULL)
    np.testing.assert_allclose(got, toy_network(x, t, labels), rtol=1e-6, atol=1e-6)


def test_label_dropout_rate_measured_in_a_training_batch():
    """loss_fn hands the network labels with the null label at rate p_uncond, others kept."""
    config = cfg.get_config("ring")
    schedule = schedule_from_config(config.diffusion)
    n, p = 20_000, 0.25
    labels = np.arange(n, dtype=np.int32) % 8
    seen = []

    def spy(variables, x, t, y, *, train, rngs):
        seen.append(np.asarray(y))
        return jnp.zeros_like(x)

    batch = {"x": jnp.zeros((n, 2)), "label": jnp.asarray(labels)}
    diffusion.loss_fn(
        None,
        spy,
        schedule,
        batch,
        jax.random.PRNGKey(3),
        train=True,
        num_classes=8,
        p_uncond=p,
    )
    (y,) = seen
    dropped = y == 8
    # Binomial(n, p): 4 standard deviations is 0.012 at n = 20000.
    assert abs(dropped.mean() - p) < 4 * np.sqrt(p * (1 - p) / n), dropped.mean()
    np.testing.assert_array_equal(y[~dropped], labels[~dropped])


def test_unconditional_model_rejects_labels_and_guidance():
    config = ddpm.get_config("ring")
    with pytest.raises(ConfigError, match="conditioning.class_conditional"):
        denoiser.network_fn(config, None, labels=jnp.zeros(3, jnp.int32))
    with pytest.raises(ConfigError, match="conditioning.class_conditional"):
        denoiser.network_fn(config, None, guidance=2.0)


def test_score_sde_samplers_get_the_same_guided_prediction():
    """The continuous-time network is guided by the same combination (shared code)."""
    from configs import score_sde_vp
    from v101jax.algorithms import score_sde
    from v101jax.training.loop import example_batch

    config = score_sde_vp.get_config("ring")
    with config.unlocked():
        config.conditioning.class_conditional = True
    state = jax.jit(lambda k: score_sde.init(config, k, example_batch(config, 6)))(
        jax.random.PRNGKey(0)
    )
    # Random parameters, so that the zero-initialised output layer passes the label through.
    leaves, tree = jax.tree.flatten(state.ema_params)
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    params = jax.tree.unflatten(
        tree, [0.3 * jax.random.normal(k, p.shape) for k, p in zip(keys, leaves)]
    )
    state = state.replace(params=params, ema_params=params)
    x = jax.random.normal(jax.random.PRNGKey(2), (6, 2))
    t = jnp.linspace(0.1, 0.9, 6)
    labels = jnp.array([0, 1, 2, 3, 4, 5], jnp.int32)
    sde = score_sde.sde_from_config(config.sde)

    @jax.jit
    def direct(y):
        return score_sde.apply_eps(
            sde, state.apply_fn, params, x, t, y, scale_input=False
        )

    w = 1.5
    expected = (1 + w) * direct(labels) - w * direct(jnp.full_like(labels, 8))
    got = jax.jit(lambda x, t: score_sde.eps_network(config, state, labels, w)(x, t))(
        x, t
    )
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(direct(labels), direct(jnp.full_like(labels, 8)), atol=1e-3)
