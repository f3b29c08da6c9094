"""Eight synthetic 8×8 image modes whose detail only the 8×8 resolution draws: a one-pixel
bright line on a dark ground, horizontal at row 1, 2, 5 or 6 or vertical at one of those
columns. Pooled to 4×4 each is a half-bright two-pixel band, so a generator stuck at 4×4 (a
fade-in that never completes) lands far from every mode, and one that ignores its latent
cannot cover all eight. The ProGAN and StyleGAN learning tests train on them."""

import functools

import jax
import numpy as np

from v101jax.algorithms import get_algorithm
from v101jax.training.loop import fuse_steps

SIZE = 8
LINES = (1, 2, 5, 6)
NOISE = 0.05  # per-pixel standard deviation around a mode's template
CHUNK = 100  # train steps per compiled call
NUM_SAMPLES = 2000


def templates() -> np.ndarray:
    """The eight mode images [8, 8, 8, 1] in [-1, 1]."""
    i, j = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    modes = [np.where(i == r, 1.0, -1.0) for r in LINES]
    modes += [np.where(j == c, 1.0, -1.0) for c in LINES]
    return np.stack(modes)[..., None].astype(np.float32)


def sample(rng: np.random.Generator, n: int) -> np.ndarray:
    """n images [n, 8, 8, 1]: a uniformly drawn template plus N(0, NOISE²) pixel noise."""
    t = templates()
    which = rng.integers(0, len(t), n)
    noise = NOISE * rng.standard_normal((n, SIZE, SIZE, 1))
    return (t[which] + noise).astype(np.float32)


def nearest_template(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest template, RMS distance to it) of each image [N, 8, 8, 1]."""
    t = templates().reshape(len(LINES) * 2, -1)
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    rms = np.sqrt(((x[:, None] - t[None]) ** 2).mean(-1))  # [N, 8]
    return rms.argmin(1), rms.min(1)


def floor_of_a_4x4_generator() -> float:
    """The least RMS distance to a template that an image constant on 2×2 blocks (a 4×4
    image upsampled) can have: that of the template's own 2×2 means, 0.5 for every mode."""
    t = templates()
    pooled = t.reshape(len(t), 4, 2, 4, 2, 1).mean(axis=(2, 4), keepdims=True)
    blocky = np.broadcast_to(pooled, (len(t), 4, 2, 4, 2, 1)).reshape(t.shape)
    return float(np.sqrt(((blocky - t) ** 2).mean(axis=(1, 2, 3))).min())


def coverage(images: np.ndarray) -> tuple[float, np.ndarray]:
    """(median RMS distance to the nearest template, share of the images [8] nearest each)."""
    nearest, distance = nearest_template(images)
    return float(np.median(distance)), np.bincount(nearest, minlength=8) / len(images)


def train_on_modes(config, seed: int = 0):
    """Trains config's algorithm on fresh samples of the modes every step (one compiled
    program per phase), then draws NUM_SAMPLES: (samples, the last step's metrics)."""
    algorithm = get_algorithm(config.algorithm)
    rng = np.random.default_rng(seed)
    b = config.data.batch_size

    def batch(*shape):
        x = sample(rng, int(np.prod(shape)))
        return {"x": x.reshape(shape + x.shape[1:]), "label": np.zeros(shape, np.int32)}

    state = jax.jit(functools.partial(algorithm.init, config))(
        jax.random.PRNGKey(seed), batch(b)
    )
    programs = {}
    key = jax.random.PRNGKey(seed + 1)
    for step in range(0, config.train.num_steps, CHUNK):
        phase = algorithm.phase_of(config, step)
        if phase not in programs:
            kw = {} if phase is None else {"phase": phase}
            programs[phase] = jax.jit(
                fuse_steps(functools.partial(algorithm.train_step, config, **kw))
            )
        state, metrics = programs[phase](state, batch(CHUNK, b), key)
    last = algorithm.phase_of(config, config.train.num_steps - 1)
    kw = {} if last is None else {"phase": last}
    samples = jax.jit(
        functools.partial(algorithm.sample, config, num_samples=NUM_SAMPLES, **kw)
    )(state, jax.random.PRNGKey(7))
    return np.asarray(samples), {k: float(v) for k, v in metrics.items()}
