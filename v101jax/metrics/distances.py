"""Distances between two sets of feature vectors: Fréchet distance (FID when the features are
InceptionV3 pool3), kernel distance (KID) and improved precision/recall.

All run on the host in NumPy (float64 where it matters): they are a few matrix operations on
feature sets that fit in memory, and the feature extraction before them is the costly part.
"""

import numpy as np


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½) between two Gaussians.

    tr((Σ₁Σ₂)^½) is computed as tr((Σ₁^½ Σ₂ Σ₁^½)^½): the two matrices have the same
    eigenvalues, and the second is symmetric PSD, so two `eigh` calls give it without the
    complex round-off that scipy.linalg.sqrtm of the non-symmetric Σ₁Σ₂ produces on
    near-singular covariances (the reason pytorch-fid adds an ε·I offset and retries).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"feature statistics differ in shape: mean {mu1.shape} vs {mu2.shape}, "
            f"covariance {sigma1.shape} vs {sigma2.shape}"
        )
    root1 = _sqrtm_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = np.sum(np.sqrt(np.clip(eig, 0, None)))
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    return float(max(value, 0.0))


def polynomial_kernel(x, y) -> np.ndarray:
    """k(x, y) = (xᵀy / d + 1)³, the kernel of KID (Bińkowski et al. 2018)."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    """Unbiased estimate of MMD² between the sets `x` [m, d] and `y` [n, d]."""
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = (
        polynomial_kernel(x, x),
        polynomial_kernel(y, y),
        polynomial_kernel(x, y),
    )
    sum_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    sum_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * k_xy.mean())


def kernel_distance(
    real, fake, *, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD² over random subsets.

    Subsets are drawn without replacement within each subset, as in the reference
    implementation; `subset_size` is capped at the smaller set's size.
    """
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            real[rng.choice(real.shape[0], size, replace=False)],
            fake[rng.choice(fake.shape[0], size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _squared_distances(a, b) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(sq, 0.0)


def knn_radii(features, k: int, block: int = 1024) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row (blocked, O(block·n))."""
    n = features.shape[0]
    if n <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {n}")
    radii = np.empty(n, np.float64)
    for start in range(0, n, block):
        d = _squared_distances(features[start : start + block], features)
        # Column k of the sorted row: index 0 is the point itself (distance 0).
        radii[start : start + block] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(points, manifold, radii, block: int) -> float:
    """Fraction of `points` inside at least one ball (manifold_i, radius_i)."""
    inside = 0
    for start in range(0, points.shape[0], block):
        d = _squared_distances(points[start : start + block], manifold)
        inside += int(np.any(d <= radii[None, :], axis=1).sum())
    return inside / points.shape[0]


def precision_recall(
    real, fake, *, k: int = 3, block: int = 1024
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its points reaching their k-th nearest
    neighbour. Precision: the fraction of fake samples inside the real manifold (quality).
    Recall: the fraction of real samples inside the fake manifold (coverage).
    """
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    precision = _coverage(fake, real, knn_radii(real, k, block), block)
    recall = _coverage(real, fake, knn_radii(fake, k, block), block)
    return precision, recall
