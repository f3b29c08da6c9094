"""The forward process and its posterior against independent NumPy derivations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.diffusion import process
from v101jax.diffusion.schedules import DiscreteSchedule, cosine_betas, linear_betas

T = 1000


@pytest.fixture(scope="module")
def schedule():
    return DiscreteSchedule.from_betas(linear_betas(T, 1e-4, 0.02))


def test_alphas_cumprod_is_the_product_of_one_minus_beta(schedule):
    betas = np.linspace(1e-4, 0.02, T)
    expected = np.array([np.prod(1 - betas[: t + 1]) for t in (0, 1, 10, 500, 999)])
    np.testing.assert_allclose(
        schedule.alphas_cumprod[np.array([0, 1, 10, 500, 999])], expected, rtol=1e-5
    )


@pytest.mark.parametrize("t", [0, 50, 300, 999])
def test_closed_form_marginal_matches_iterated_forward_steps(schedule, t):
    """q(x_t | x₀) from eq. 4 vs t+1 applications of q(x_s | x_{s−1}) = N(√(1−β_s) x, β_s)."""
    n = 40000
    rng = np.random.default_rng(t)
    x0 = np.full((n,), 0.7)
    betas = np.linspace(1e-4, 0.02, T)
    x = x0.copy()
    for s in range(t + 1):
        x = np.sqrt(1 - betas[s]) * x + np.sqrt(betas[s]) * rng.standard_normal(n)
    closed = np.asarray(
        process.q_sample(
            schedule,
            jnp.asarray(x0, jnp.float32),
            jnp.full((n,), t),
            jax.random.normal(jax.random.PRNGKey(t), (n,)),
        )
    )
    se = np.sqrt(x.var() / n)
    assert abs(x.mean() - closed.mean()) < 5 * np.sqrt(2) * se
    assert x.var() == pytest.approx(closed.var(), rel=0.04, abs=1e-5)
    # And both against ᾱ_t computed independently.
    ab = np.prod(1 - betas[: t + 1])
    assert closed.mean() == pytest.approx(np.sqrt(ab) * 0.7, abs=5 * se + 1e-4)
    assert closed.var() == pytest.approx(1 - ab, rel=0.04, abs=1e-5)


@pytest.mark.parametrize("t", [1, 10, 500, 999])
def test_posterior_matches_gaussian_bayes_rule(schedule, t):
    """q(x_{t−1} | x_t, x₀) ∝ N(x_{t−1}; √ᾱ_{t−1} x₀, 1−ᾱ_{t−1}) · N(x_t; √α_t x_{t−1}, β_t)."""
    betas = np.linspace(1e-4, 0.02, T)
    ab_prev = np.prod(1 - betas[:t])
    alpha = 1 - betas[t]
    precision = 1 / (1 - ab_prev) + alpha / betas[t]
    x0, xt = np.array([0.3, -0.8]), np.array([1.1, 0.2])
    mean = (
        np.sqrt(ab_prev) * x0 / (1 - ab_prev) + np.sqrt(alpha) * xt / betas[t]
    ) / precision
    got_mean, got_var = process.q_posterior(
        schedule,
        jnp.asarray(x0, jnp.float32),
        jnp.asarray(xt, jnp.float32),
        jnp.full((2,), t),
    )
    np.testing.assert_allclose(got_mean, mean, rtol=2e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_var).ravel(), 1 / precision, rtol=2e-4)


def test_x0_and_eps_conversions_invert_each_other(schedule):
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    x0 = jax.random.uniform(k1, (16, 4, 4, 1), minval=-1, maxval=1)
    eps = jax.random.normal(k2, x0.shape)
    t = jnp.arange(16) * 60
    xt = process.q_sample(schedule, x0, t, eps)
    np.testing.assert_allclose(
        process.predict_x0_from_eps(schedule, xt, t, eps), x0, atol=2e-3
    )
    np.testing.assert_allclose(
        process.predict_eps_from_x0(schedule, xt, t, x0), eps, atol=2e-3
    )


def test_cosine_schedule_matches_its_closed_form():
    t_total, s = 1000, 0.008
    cosine = DiscreteSchedule.from_betas(cosine_betas(t_total, s))

    def f(t):
        return np.cos((t / t_total + s) / (1 + s) * np.pi / 2) ** 2

    ts = np.array([0, 1, 100, 500, 900, 990])
    # Index t is the paper's t + 1: ᾱ = f(t + 1) / f(0); clipping only acts at the very end.
    np.testing.assert_allclose(
        np.asarray(cosine.alphas_cumprod)[ts], f(ts + 1) / f(0), rtol=1e-4
    )
    betas = np.asarray(cosine.betas)
    assert betas.max() == pytest.approx(0.999) and betas[-1] == pytest.approx(0.999)
    assert np.all(np.diff(betas) > 0)


def test_v_x0_eps_conversions_round_trip(schedule):
    k1, k2 = jax.random.split(jax.random.PRNGKey(1))
    x0 = jax.random.uniform(k1, (16, 3), minval=-1, maxval=1)
    eps = jax.random.normal(k2, x0.shape)
    t = jnp.arange(16) * 60 + 5
    xt = process.q_sample(schedule, x0, t, eps)
    v = process.v_target(schedule, x0, t, eps)
    np.testing.assert_allclose(
        process.predict_x0_from_v(schedule, xt, t, v), x0, atol=1e-5
    )
    np.testing.assert_allclose(
        process.predict_eps_from_v(schedule, xt, t, v), eps, atol=1e-5
    )
    for prediction in process.PREDICTIONS:
        target = process.prediction_target(schedule, prediction, x0, t, eps)
        implied = process.eps_from_prediction(schedule, prediction, xt, t, target)
        np.testing.assert_allclose(implied, eps, atol=3e-3, err_msg=prediction)


def test_each_parameterisation_is_a_snr_weighted_eps_loss(schedule):
    """For one x_t and one network error, x₀-MSE = ε-MSE/SNR and v-MSE = ε-MSE·(1 + 1/SNR)."""
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-1, 1, (8, 5))
    eps = rng.normal(size=x0.shape)
    eps_hat = eps + 0.1 * rng.normal(size=x0.shape)
    t = np.arange(8) * 120 + 10
    ac = np.asarray(schedule.alphas_cumprod, np.float64)[t][:, None]
    xt = np.sqrt(ac) * x0 + np.sqrt(1 - ac) * eps
    x0_hat = (xt - np.sqrt(1 - ac) * eps_hat) / np.sqrt(ac)
    v, v_hat = (
        np.asarray(process.v_target(schedule, a, t, b), np.float64)
        for a, b in ((x0, eps), (x0_hat, eps_hat))
    )
    snr = ac[:, 0] / (1 - ac[:, 0])
    eps_mse = np.mean((eps - eps_hat) ** 2, axis=1)
    np.testing.assert_allclose(
        np.mean((x0 - x0_hat) ** 2, axis=1), eps_mse / snr, rtol=1e-9
    )
    np.testing.assert_allclose(
        np.mean((v - v_hat) ** 2, axis=1), eps_mse * (1 + 1 / snr), rtol=2e-4
    )
