"""Feature distances against independent computations and closed forms."""

import itertools

import numpy as np
import pytest
import scipy.linalg

from v101jax.metrics import distances
from v101jax.metrics.statistics import RunningMoments


def _random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    for d in (1, 5, 32):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
        expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
        assert distances.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
            expected, rel=1e-8, abs=1e-8
        )


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    # Diagonal covariances: FD = ‖Δμ‖² + Σᵢ (sᵢ − tᵢ)² with standard deviations s, t.
    s, t = np.array([1.0, 2.0, 0.5]), np.array([3.0, 2.0, 0.1])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 1.0 + 4.0 + np.sum((s - t) ** 2)
    got = distances.frechet_distance(mu1, np.diag(s**2), mu2, np.diag(t**2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_of_samples_approaches_the_population_value():
    rng = np.random.default_rng(1)
    d, n = 4, 200_000
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    x = rng.multivariate_normal(mu1, s1, size=n)
    y = rng.multivariate_normal(mu2, s2, size=n)
    sample_fd = distances.frechet_distance(
        x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    )
    assert sample_fd == pytest.approx(
        distances.frechet_distance(mu1, s1, mu2, s2), abs=0.02
    )


def test_frechet_distance_is_zero_for_a_set_with_itself_and_grows_with_noise():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4000, 16)) @ rng.normal(size=(16, 16))

    def fd(a, b):
        return distances.frechet_distance(
            a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
        )

    assert fd(x, x) == pytest.approx(0.0, abs=1e-8)
    noise = rng.normal(size=x.shape)
    values = [fd(x, x + s * noise) for s in (0.1, 0.3, 1.0, 3.0)]
    assert values[0] > 0
    assert all(b > a for a, b in itertools.pairwise(values)), values


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        distances.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_streaming_moments_equal_batch_moments():
    rng = np.random.default_rng(3)
    # A large common offset: the naive E[xxᵀ] − μμᵀ loses digits here.
    x = 1e4 + rng.normal(size=(1037, 6)) * np.arange(1, 7)
    moments = RunningMoments(6)
    for batch in np.array_split(x, [1, 100, 101, 600]):  # includes a 0-row batch
        moments.update(batch)
    assert moments.count == x.shape[0]
    np.testing.assert_allclose(moments.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        moments.covariance, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-9
    )


def test_mmd_matches_a_brute_force_double_sum():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(9, 3)) + 0.5

    def k(a, b):
        return (np.dot(a, b) / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(9)) / (7 * 9)
    assert distances.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kid_is_unbiased_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(5)
    d = 8
    # Many independent pairs of small samples of one distribution: the unbiased estimator's
    # average must be 0 within its standard error (a biased V-statistic is not).
    same = [
        distances.mmd2_unbiased(rng.normal(size=(50, d)), rng.normal(size=(50, d)))
        for _ in range(400)
    ]
    standard_error = np.std(same) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * standard_error
    real = rng.normal(size=(2000, d))
    fake = rng.normal(size=(2000, d)) * 1.3 + 0.2
    kid_diff, _ = distances.kernel_distance(real, fake, num_subsets=20, subset_size=500)
    kid_same, _ = distances.kernel_distance(
        real, rng.normal(size=(2000, d)), num_subsets=20, subset_size=500
    )
    assert kid_diff > 20 * abs(kid_same)


def _brute_precision_recall(real, fake, k):
    def radii(s):
        d = np.linalg.norm(s[:, None] - s[None], axis=-1)
        return np.sort(d, axis=1)[:, k]

    def inside(points, manifold, r):
        return np.mean(
            [
                any(
                    np.linalg.norm(p - m) <= rm
                    for m, rm in zip(manifold, r, strict=True)
                )
                for p in points
            ]
        )

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def test_precision_recall_matches_a_brute_force_loop():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(60, 2))
    fake = rng.normal(size=(45, 2)) * 0.7 + 0.8
    got = distances.precision_recall(real, fake, k=3, block=16)
    assert got == pytest.approx(_brute_precision_recall(real, fake, 3), abs=1e-12)


def test_precision_recall_separates_quality_from_coverage():
    rng = np.random.default_rng(7)
    modes = np.array([[-10.0, 0.0], [10.0, 0.0]])
    real = np.concatenate([m + rng.normal(size=(500, 2)) for m in modes])
    one_mode = modes[0] + rng.normal(size=(1000, 2))  # good samples, half the modes
    precision, recall = distances.precision_recall(real, one_mode, k=3)
    assert precision > 0.95
    assert 0.4 < recall < 0.6
    far = rng.normal(size=(1000, 2)) + np.array([0.0, 30.0])  # nowhere near the data
    assert distances.precision_recall(real, far, k=3) == (0.0, 0.0)
