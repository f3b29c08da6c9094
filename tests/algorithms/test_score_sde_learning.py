"""Learning test: a score-based SDE model (σ²-weighted denoising score matching, VP SDE) trained
briefly on a ring of 8 Gaussians reproduces its modes through its samplers."""

import functools

import jax
import numpy as np
import pytest

from configs import score_sde_vp
from v101jax.algorithms import score_sde
from v101jax.algorithms.contract import with_sample_options
from v101jax.core.errors import ConfigError
from v101jax.data import toy
from v101jax.training.loop import fuse_steps


def mode_statistics(points, std):
    """(fraction of samples per mode [8], fraction within 3σ of its nearest mode)."""
    centers = toy.ring_centers()
    nearest, within = toy.mode_assignment(points, centers, std)
    mass = np.bincount(nearest[within], minlength=len(centers)) / len(points)
    return mass, within.mean()


STEPS, STEPS_PER_CALL = 3000, 500


@pytest.fixture(scope="module")
def trained():
    config = score_sde_vp.get_config("ring")
    with config.unlocked():
        config.train.num_steps = STEPS
        # A smaller MLP than the preset's keeps this test within seconds.
        config.model.hidden = 64
        config.model.num_layers = 2
    points, _ = toy.ring_of_gaussians(
        config.data.num_points, config.data.toy_std, seed=0
    )
    rng = np.random.default_rng(0)
    state = score_sde.init(config, jax.random.PRNGKey(0), {"x": points[:8]})
    # Several steps per compiled call (lax.scan), as train.steps_per_call does in the loop.
    step = jax.jit(fuse_steps(functools.partial(score_sde.train_step, config)))
    key = jax.random.PRNGKey(1)
    for _ in range(STEPS // STEPS_PER_CALL):
        idx = rng.integers(0, len(points), (STEPS_PER_CALL, config.data.batch_size))
        state, metrics = step(state, {"x": points[idx]}, key)
    return config, state, float(np.mean(metrics["loss"]))


def test_trained_model_samples_cover_every_mode_of_the_ring(trained):
    config, state, loss = trained
    samples = np.asarray(
        jax.jit(
            functools.partial(
                score_sde.sample,
                with_sample_options(
                    config, score_sde.ALGORITHM, sampler="em", steps=200
                ),
                num_samples=2000,
            )
        )(state, jax.random.PRNGKey(2))
    )
    mass, inside = mode_statistics(samples, config.data.toy_std)
    # Each mode holds 12.5% ± 5% of the samples and ≥ 80% lie within 3σ of a mode (an
    # untrained network, or a flipped score, puts almost none there).
    assert np.all(np.abs(mass - 0.125) < 0.05) and inside >= 0.8, (mass, inside, loss)


def test_sampling_options_outside_the_model_are_config_errors(trained):
    config, state, _ = trained
    key = jax.random.PRNGKey(0)
    algorithm = score_sde.ALGORITHM
    with pytest.raises(ConfigError, match="sample.sampler"):
        score_sde.sample(
            with_sample_options(config, algorithm, sampler="ddim"), state, key, 4
        )
    with pytest.raises(ConfigError, match="class_conditional"):
        score_sde.sample(
            with_sample_options(config, algorithm, guidance=2.0), state, key, 4
        )
    with pytest.raises(
        ConfigError, match="--eta is not an option of algorithm 'score_sde'"
    ):
        with_sample_options(config, algorithm, eta=0.0)
    with pytest.raises(ConfigError, match="class_conditional"):
        score_sde.sample(
            config, state, key, 4, inputs={"labels": np.zeros(4, np.int32)}
        )


def test_bits_per_dim_of_the_ring_approaches_its_true_value(trained):
    """The exact likelihood (probability-flow ODE) of held-out ring points, against the true
    mixture density: within 0.35 bits/dim of it, far from a single Gaussian's ~2.5."""
    config, state, _ = trained
    points, _ = toy.ring_of_gaussians(64, config.data.toy_std, seed=1)
    with config.unlocked():
        config.sample.ode_rtol = config.sample.ode_atol = 1e-3
    bpd, nfe = jax.jit(functools.partial(score_sde.bits_per_dim, config))(
        state, jax.random.PRNGKey(3), {"x": points}
    )
    centers = toy.ring_centers()
    std = config.data.toy_std
    sq = ((points[:, None, :] - centers[None]) ** 2).sum(-1)
    true_logp = np.log(
        np.mean(np.exp(-sq / (2 * std**2)), axis=1) / (2 * np.pi * std**2)
    )
    true_bpd = -true_logp / (2 * np.log(2))
    assert abs(float(np.mean(bpd)) - true_bpd.mean()) < 0.35, (
        float(np.mean(bpd)),
        true_bpd.mean(),
        int(nfe),
    )
