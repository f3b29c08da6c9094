"""Streaming first and second moments of feature vectors.

Features arrive in batches (from a sampler or a dataset); FID needs their mean and covariance
over tens of thousands of samples. Batches are merged with Chan et al.'s pairwise update in
float64, which is exact up to rounding and avoids the cancellation of the naive
E[xxᵀ] − μμᵀ formula when the mean is large relative to the spread.
"""

import numpy as np


class RunningMoments:
    """Mean and covariance of all rows seen so far, updated one batch at a time."""

    def __init__(self, dim: int):
        self.dim = dim
        self.count = 0
        self.mean = np.zeros(dim, np.float64)
        # Sum of outer products of deviations from the running mean (the "M2" matrix).
        self._m2 = np.zeros((dim, dim), np.float64)

    def update(self, batch) -> None:
        x = np.asarray(batch, np.float64).reshape(-1, self.dim)
        n = x.shape[0]
        if n == 0:
            return
        batch_mean = x.mean(axis=0)
        centred = x - batch_mean
        batch_m2 = centred.T @ centred
        total = self.count + n
        delta = batch_mean - self.mean
        self._m2 += batch_m2 + np.outer(delta, delta) * (self.count * n / total)
        self.mean += delta * (n / total)
        self.count = total

    @property
    def covariance(self) -> np.ndarray:
        """Unbiased sample covariance (divides by count − 1, as numpy.cov does)."""
        if self.count < 2:
            raise ValueError(f"covariance needs at least 2 samples, got {self.count}")
        return self._m2 / (self.count - 1)
