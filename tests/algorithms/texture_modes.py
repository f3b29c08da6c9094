"""Eight synthetic 8×8 image modes whose detail only the 8×8 resolution draws: a one-pixel
bright line on a dark ground, horizontal at row 1, 2, 5 or 6 or vertical at one of those
columns. Pooled to 4×4 each is a half-bright two-pixel band, so a generator stuck at 4×4 (a
fade-in that never completes) lands far from every mode, and one that ignores its latent or
styles cannot cover all eight. The learning tests of ProGAN and StyleGAN use them."""

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


def coverage(images: np.ndarray) -> tuple[int, float, list[int]]:
    """(modes covered, fraction of images near a mode, images per mode) of images [N, 8, 8, 1].

    An image is near its nearest template when its RMS distance to it is under 0.2 (real
    samples lie at NOISE = 0.05; a mode drawn at 4×4 and upsampled lies at 0.5); a mode is
    covered when it holds a fifth of its fair share of all the images."""
    t = templates().reshape(len(templates()), -1)
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    rms = np.sqrt(((x[:, None] - t[None]) ** 2).mean(-1))  # [N, 8]
    nearest = rms.argmin(1)
    near = rms.min(1) < 0.2
    counts = np.bincount(nearest[near], minlength=len(t))
    covered = int(np.sum(counts >= 0.2 * len(x) / len(t)))
    return covered, float(near.mean()), counts.tolist()
