"""Eight synthetic 8×8 image modes whose detail only the 8×8 resolution draws: a one-pixel
bright line on a dark ground, horizontal at row 1, 2, 5 or 6 or vertical at one of those
columns. Pooled to 4×4 each is a half-bright two-pixel band, so a generator stuck at 4×4 (a
fade-in that never completes) lands far from every mode, and one that ignores its latent
cannot cover all eight. ProGAN's learning test uses them."""

import numpy as np

SIZE = 8
LINES = (1, 2, 5, 6)
NOISE = 0.05  # per-pixel standard deviation around a mode's template


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
