"""Learning tests: diffusion trained briefly on a ring of 8 Gaussians reproduces its modes,
with ε-prediction (linear β, the DDPM paper's), v-prediction (cosine schedule) and
x₀-prediction; a class-conditional model's guided samples land on the requested mode."""

import functools

import jax
import numpy as np
import pytest

from configs import cfg, ddpm
from v101jax.algorithms import diffusion
from v101jax.algorithms.contract import with_sample_options
from v101jax.data import BatchIterator, load_dataset, toy


def sampled_with(config, **flags):
    """`config` with the sample command's flags (sampler, steps, eta, guidance) applied."""
    return with_sample_options(config, diffusion.ALGORITHM, **flags)


def mode_statistics(points, std):
    """(fraction of samples per mode [8], fraction within 3σ of a mode, mean radius within)."""
    centers = toy.ring_centers()
    nearest, within = toy.mode_assignment(points, centers, std)
    mass = np.bincount(nearest[within], minlength=len(centers)) / len(points)
    radius = np.linalg.norm(points - centers[nearest], axis=-1)[within].mean()
    return mass, within.mean(), radius


def passes(points, std) -> bool:
    mass, inside, radius = mode_statistics(points, std)
    # Each mode holds 12.5% ± 5%; ≥ 85% of samples within 3σ; the within-mode mean distance
    # (σ·√(π/2) ≈ 1.25σ for a 2-D Gaussian) is between 0.6σ and 1.9σ: neither collapsed nor blurred.
    return bool(
        np.all(np.abs(mass - 0.125) < 0.05)
        and inside >= 0.85
        and 0.6 * std < radius < 1.9 * std
    )


def train_ring(config):
    data = load_dataset(config.data, seed=0)
    batches = BatchIterator(data, global_batch_size=config.data.batch_size, seed=0)
    state = diffusion.init(config, jax.random.PRNGKey(0), next(batches))
    step = jax.jit(functools.partial(diffusion.train_step, config), donate_argnums=(0,))
    key = jax.random.PRNGKey(1)
    for _ in range(config.train.num_steps):
        state, metrics = step(state, next(batches), key)
    batches.close()
    return config, state, float(metrics["loss"])


@pytest.fixture(scope="module")
def trained():
    return train_ring(ddpm.get_config("ring"))


@pytest.mark.parametrize("schedule,prediction", [("cosine", "v"), ("linear", "x0")])
def test_other_parameterisations_learn_all_modes_of_the_ring(schedule, prediction):
    config = ddpm.get_config("ring")
    with config.unlocked():
        config.diffusion.beta_schedule = schedule
        config.diffusion.prediction = prediction
    config, state, loss = train_ring(config)
    samples = np.asarray(
        diffusion.sample(
            sampled_with(config, sampler="ddim", steps=100),
            state,
            jax.random.PRNGKey(2),
            4000,
        )
    )
    mass, inside, radius = mode_statistics(samples, config.data.toy_std)
    assert passes(samples, config.data.toy_std), (mass, inside, radius, loss)


def test_ddpm_learns_all_modes_of_the_ring(trained):
    config, state, loss = trained
    samples = np.asarray(
        diffusion.sample(
            sampled_with(config, sampler="ddpm"), state, jax.random.PRNGKey(2), 4000
        )
    )
    mass, inside, radius = mode_statistics(samples, config.data.toy_std)
    assert passes(samples, config.data.toy_std), (mass, inside, radius, loss)


@pytest.mark.parametrize("spacing", ["uniform", "trailing"])
def test_ddim_samples_of_the_same_model_cover_the_ring(trained, spacing):
    config, state, _ = trained
    sampled = sampled_with(config, sampler="ddim", steps=100, eta=0.0, spacing=spacing)
    assert sampled.sample.timestep_spacing == spacing
    samples = np.asarray(diffusion.sample(sampled, state, jax.random.PRNGKey(3), 4000))
    mass, inside, radius = mode_statistics(samples, config.data.toy_std)
    assert np.all(np.abs(mass - 0.125) < 0.05) and inside >= 0.8, (mass, inside, radius)


def test_the_bar_rejects_a_flipped_noise_prediction(trained):
    """Negating ε̂ (a sign error in loss or sampler) must fail the same bar."""
    config, state, _ = trained
    flipped = state.replace(apply_fn=lambda *a, **k: -state.apply_fn(*a, **k))
    samples = np.asarray(
        diffusion.sample(
            sampled_with(config, sampler="ddpm"), flipped, jax.random.PRNGKey(2), 4000
        )
    )
    assert not passes(samples, config.data.toy_std)


def test_guided_samples_land_on_the_requested_mode():
    """Labels are the ring's modes; ≥ 90% of guided samples of label k lie within 3σ of
    mode k. The unconditional half alone (w = −1) must fail the same bar."""
    config = cfg.get_config("ring")
    with config.unlocked():
        config.train.num_steps = 800
    config, state, loss = train_ring(config)
    labels = np.arange(1000, dtype=np.int32) % 8
    centers = toy.ring_centers()

    def on_requested_mode(w):
        samples = diffusion.sample(
            sampled_with(config, sampler="ddim", steps=50, guidance=w),
            state,
            jax.random.PRNGKey(2),
            len(labels),
            inputs={"labels": labels},
        )
        nearest, within = toy.mode_assignment(
            np.asarray(samples), centers, config.data.toy_std
        )
        return float(np.mean((nearest == labels) & within))

    guided = on_requested_mode(config.sample.guidance)
    assert guided >= 0.9, (guided, loss)
    assert on_requested_mode(-1.0) < 0.5
