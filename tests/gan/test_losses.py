"""GAN losses against hand-computed values; penalties against finite differences."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.gan import losses

REAL = np.array([0.5, 2.0], np.float32)
FAKE = np.array([-2.0, 0.5], np.float32)


def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def _mean(values):
    return sum(values) / len(values)


def test_cross_entropy_losses_match_probabilities():
    d_real = [_sigmoid(v) for v in REAL]
    d_fake = [_sigmoid(v) for v in FAKE]
    d_loss = -_mean([math.log(p) for p in d_real]) - _mean(
        [math.log(1 - p) for p in d_fake]
    )
    for name in ("minimax", "non_saturating"):
        assert float(losses.discriminator_loss(name, REAL, FAKE)) == pytest.approx(
            d_loss, rel=1e-5
        )
    assert float(losses.generator_loss("minimax", FAKE)) == pytest.approx(
        _mean([math.log(1 - p) for p in d_fake]), rel=1e-5
    )
    assert float(losses.generator_loss("non_saturating", FAKE)) == pytest.approx(
        -_mean([math.log(p) for p in d_fake]), rel=1e-5
    )


def test_label_smoothing_targets_point_nine():
    d_real = [_sigmoid(v) for v in REAL]
    d_fake = [_sigmoid(v) for v in FAKE]
    expected = -_mean(
        [0.9 * math.log(p) + 0.1 * math.log(1 - p) for p in d_real]
    ) - _mean([math.log(1 - p) for p in d_fake])
    got = losses.discriminator_loss("non_saturating", REAL, FAKE, real_label=0.9)
    assert float(got) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="label smoothing"):
        losses.discriminator_loss("hinge", REAL, FAKE, real_label=0.9)


@pytest.mark.parametrize(
    "name, d_loss, g_loss",
    [
        # real (0.5, 2), fake (−2, 0.5):
        # hinge: mean(0.5, 0) + mean(0, 1.5) = 1.0; G: −mean(−2, 0.5) = 0.75
        ("hinge", 1.0, 0.75),
        # lsgan: ½·mean(0.25, 1) + ½·mean(4, 0.25) = 1.375; G: ½·mean(9, 0.25) = 2.3125
        ("lsgan", 1.375, 2.3125),
        # wasserstein: mean(fake) − mean(real) = −0.75 − 1.25 = −2; G: 0.75
        ("wasserstein", -2.0, 0.75),
    ],
)
def test_hinge_lsgan_wasserstein_by_hand(name, d_loss, g_loss):
    assert float(losses.discriminator_loss(name, REAL, FAKE)) == pytest.approx(d_loss)
    assert float(losses.generator_loss(name, FAKE)) == pytest.approx(g_loss)


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="unknown GAN loss"):
        losses.generator_loss("wgan", FAKE)


def test_classification_and_feature_matching_by_hand():
    logits = np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)
    labels = np.array([0, 0])
    # −log softmax: row 0 → log(1 + e^−2); row 1 → log(1 + e^1)
    expected = 0.5 * (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(1)))
    assert float(losses.classification_loss(logits, labels)) == pytest.approx(
        expected, rel=1e-5
    )
    real = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)  # mean (2, 3)
    fake = np.array([[0.0, 0.0], [2.0, 2.0]], np.float32)  # mean (1, 1)
    assert float(losses.feature_matching_loss(real, fake)) == pytest.approx(5.0)


# A small nonlinear critic, written twice: in JAX (the code path) and NumPy float64 (the check).
_W1 = np.random.default_rng(0).standard_normal((3, 5))
_W2 = np.random.default_rng(1).standard_normal(5)


def _critic_jax(x):
    return jnp.tanh(x @ jnp.asarray(_W1, jnp.float32)) @ jnp.asarray(_W2, jnp.float32)


def _critic_np(x):
    return np.tanh(x @ _W1) @ _W2


def _finite_difference_grad_norms(x, h=1e-5):
    x = np.asarray(x, np.float64)
    grads = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            step = np.zeros_like(x[i])
            step[j] = h
            grads[i, j] = (_critic_np(x[i] + step) - _critic_np(x[i] - step)) / (2 * h)
    return np.linalg.norm(grads, axis=1)


def test_gradient_penalty_matches_finite_differences():
    real = np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32)
    fake = np.random.default_rng(3).standard_normal((6, 3)).astype(np.float32)
    x_hat = np.asarray(losses.interpolate(real, fake, jax.random.PRNGKey(0)))
    # Each x̂_i lies on the segment from x̃_i to x_i: x̂ − x̃ = ε_i (x − x̃), one ε_i ∈ [0, 1].
    eps = (x_hat - fake)[:, 0] / (real - fake)[:, 0]
    np.testing.assert_allclose(
        x_hat, fake + eps[:, None] * (real - fake), rtol=1e-5, atol=1e-6
    )
    assert np.all((eps >= 0) & (eps <= 1)) and np.ptp(eps) > 0.1

    norms = _finite_difference_grad_norms(x_hat)
    expected = np.mean((norms - 1.0) ** 2)
    got = losses.gradient_penalty(_critic_jax, real, fake, jax.random.PRNGKey(0))
    assert float(got) == pytest.approx(expected, rel=1e-4)
    assert float(losses.r1_penalty(_critic_jax, real)) == pytest.approx(
        np.mean(_finite_difference_grad_norms(real) ** 2), rel=1e-4
    )


def test_penalties_of_a_linear_critic_are_closed_form():
    w = np.array([3.0, 4.0], np.float32)  # ‖w‖ = 5 everywhere
    real = np.ones((4, 2), np.float32)
    fake = np.zeros((4, 2), np.float32)
    critic = lambda x: x @ w
    gp = losses.gradient_penalty(critic, real, fake, jax.random.PRNGKey(1))
    assert float(gp) == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
    assert float(losses.r1_penalty(critic, real)) == pytest.approx(25.0, rel=1e-5)


def test_progressive_critic_loss_of_a_linear_critic_is_closed_form():
    w = np.array([3.0, 4.0], np.float32)  # ‖∇D‖ = 5 everywhere
    rng = np.random.default_rng(4)
    real = rng.standard_normal((5, 2)).astype(np.float32)
    fake = rng.standard_normal((5, 2)).astype(np.float32)
    real_scores, fake_scores = real @ w, fake @ w
    wasserstein = real_scores.mean() - fake_scores.mean()
    drift = np.mean(real_scores.astype(np.float64) ** 2)
    loss, parts = losses.progressive_critic_loss(
        lambda x: x @ w,
        real,
        fake,
        jax.random.PRNGKey(2),
        gradient_weight=10.0,
        drift=1e-3,
    )
    assert float(parts["wasserstein_estimate"]) == pytest.approx(wasserstein, rel=1e-5)
    assert float(parts["gradient_penalty"]) == pytest.approx(16.0, rel=1e-5)
    assert float(parts["drift"]) == pytest.approx(drift, rel=1e-5)
    assert float(loss) == pytest.approx(
        -wasserstein + 10.0 * 16.0 + 1e-3 * drift, rel=1e-5
    )
