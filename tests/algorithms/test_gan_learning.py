"""Learning tests: GANs trained briefly on a ring of 8 Gaussians (and a 5×5 grid) cover its modes.

Bars (issue 5): ≥ 7 of 8 modes covered and ≥ 80% of samples within 3σ of a mode; a mode counts
as covered when it holds at least a fifth of its fair share (2.5% of the samples on the ring,
0.8% on the grid). On the 5×5 grid: ≥ 20 of 25 modes and ≥ 70% of samples within 3σ. A
configuration known to collapse must fail the bar and be flagged by the diversity metric that
training logs; the conditional GANs (cGAN, ACGAN) must put ≥ 90% of the samples of label k on
mode k.
"""

import functools

import jax
import numpy as np
import pytest

from benchmarks.common import load_config
from v101jax.algorithms import gan
from v101jax.data import load_dataset, toy
from v101jax.training.loop import fuse_steps

CHUNK = 100  # train steps per compiled call
NUM_SAMPLES = 4000


def train(config, seed: int = 0):
    """Trains `config` for train.num_steps; returns (state, metrics averaged over the last chunk)."""
    data = load_dataset(config.data, seed=0)
    b = config.data.batch_size
    rng = np.random.default_rng(seed)
    first = {k: v[:b] for k, v in data.items()}
    state = jax.jit(functools.partial(gan.init, config))(
        jax.random.PRNGKey(seed), first
    )
    step = jax.jit(fuse_steps(functools.partial(gan.train_step, config)))
    key = jax.random.PRNGKey(seed + 1)
    for _ in range(config.train.num_steps // CHUNK):
        idx = rng.integers(0, len(data["x"]), (CHUNK, b))
        state, metrics = step(state, {k: v[idx] for k, v in data.items()}, key)
    return state, {k: float(v) for k, v in metrics.items()}


def mode_statistics(points, centers, std):
    """(modes covered, fraction of samples within 3σ of a mode, samples per mode)."""
    nearest, within = toy.mode_assignment(points, centers, std)
    counts = np.bincount(nearest[within], minlength=len(centers))
    covered = int(np.sum(counts >= 0.2 * len(points) / len(centers)))
    return covered, float(within.mean()), counts


def coverage(config, state, centers) -> tuple:
    """mode_statistics of NUM_SAMPLES generator samples (counts as a list)."""
    samples = np.asarray(
        jax.jit(functools.partial(gan.sample, config, num_samples=NUM_SAMPLES))(
            state, jax.random.PRNGKey(7)
        )
    )
    covered, inside, counts = mode_statistics(samples, centers, config.data.toy_std)
    return covered, inside, counts.tolist()


def covers_the_ring(config, state) -> tuple[bool, tuple]:
    stats = coverage(config, state, toy.ring_centers())
    covered, inside, _ = stats
    return covered >= 7 and inside >= 0.8, stats


@pytest.mark.parametrize(
    "spec",
    ["configs/gan_mlp.py", "configs/wgan_gp.py:ring", "configs/hinge_sn.py:ring"],
)
def test_gan_covers_the_ring(spec):
    config = load_config(spec)
    state, metrics = train(config)
    ok, stats = covers_the_ring(config, state)
    assert ok, (stats, metrics)
    # Healthy training: the fixed-z batch is about as diverse as the data.
    assert metrics["diversity_ratio"] > 0.8, metrics


def test_gan_covers_the_grid():
    """The 5×5 grid (σ 0.1, spacing 2) with configs/gan_mlp.py:grid's settings."""
    config = load_config("configs/gan_mlp.py:grid")
    state, metrics = train(config)
    covered, inside, counts = coverage(config, state, toy.grid_centers())
    assert covered >= 20 and inside >= 0.7, (covered, inside, counts, metrics)


def test_collapse_fails_the_bar_and_is_flagged():
    """A generator 100× faster than its discriminator chases D's maximum onto one mode.
    Three seeds: every run fails the bar, and the median run is flagged (one run's G may be
    caught mid-chase, its samples spread off the ring rather than collapsed onto a point)."""
    config = load_config(
        "configs/gan_mlp.py",
        {"optim.learning_rate": 1e-2, "d_optim.learning_rate": 1e-4},
    )
    ratios = []
    for seed in range(3):
        state, metrics = train(config, seed)
        ok, stats = covers_the_ring(config, state)
        assert not ok, (seed, stats)
        ratios.append(metrics["diversity_ratio"])
    assert np.median(ratios) < 0.5, ratios


@pytest.mark.parametrize("spec", ["configs/cgan.py:ring", "configs/acgan.py:ring"])
def test_conditional_gan_puts_label_k_on_mode_k(spec):
    config = load_config(spec)
    state, metrics = train(config)
    labels = np.repeat(np.arange(8), NUM_SAMPLES // 8)
    samples = np.asarray(
        jax.jit(functools.partial(gan.sample, config, num_samples=len(labels)))(
            state, jax.random.PRNGKey(7), inputs={"labels": labels}
        )
    )
    nearest, within = toy.mode_assignment(
        samples, toy.ring_centers(), config.data.toy_std
    )
    on_mode = [float(np.mean(nearest[labels == k] == k)) for k in range(8)]
    assert min(on_mode) >= 0.9, (on_mode, float(within.mean()), metrics)
