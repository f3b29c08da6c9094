"""Toy 2-D distributions for fast learning tests: ring of Gaussians, grid, two moons.

Each returns (points float32 [N, 2], labels int32 [N]) where the label is the mode index
(the moon index for two moons), and exposes its mode centres for coverage metrics.
"""

import numpy as np


def ring_centers(num_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=-1).astype(
        np.float32
    )


def grid_centers(size: int = 5, spacing: float = 2.0) -> np.ndarray:
    coords = (np.arange(size) - (size - 1) / 2) * spacing
    xx, yy = np.meshgrid(coords, coords, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=-1).astype(np.float32)


def gaussian_mixture(centers: np.ndarray, std: float, num_points: int, seed: int):
    """Equal-weight isotropic Gaussian mixture around `centers`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(centers), size=num_points).astype(np.int32)
    points = centers[labels] + std * rng.standard_normal((num_points, 2))
    return points.astype(np.float32), labels


def ring_of_gaussians(
    num_points: int, std: float = 0.05, seed: int = 0, num_modes: int = 8
):
    return gaussian_mixture(ring_centers(num_modes), std, num_points, seed)


def grid_of_gaussians(num_points: int, std: float = 0.05, seed: int = 0, size: int = 5):
    return gaussian_mixture(grid_centers(size), std, num_points, seed)


def two_moons(num_points: int, std: float = 0.05, seed: int = 0):
    """Two interleaved half circles (as sklearn's make_moons), centred and scaled to ~[-2, 2]."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=num_points).astype(np.int32)
    angle = rng.uniform(0, np.pi, size=num_points)
    upper = np.stack([np.cos(angle), np.sin(angle)], -1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], -1)
    points = np.where(labels[:, None] == 0, upper, lower)
    points = (points - np.array([0.5, 0.25])) * 2.0 + std * rng.standard_normal(
        (num_points, 2)
    )
    return points.astype(np.float32), labels


def mode_assignment(
    points: np.ndarray, centers: np.ndarray, std: float, num_std: float = 3.0
):
    """Nearest mode of each point, and whether it lies within num_std·std of that mode.

    Returns (nearest [N] int, within [N] bool).
    """
    d = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=-1)
    nearest = d.argmin(axis=1)
    within = d[np.arange(len(points)), nearest] <= num_std * std
    return nearest, within
