"""VAE maths against independent formulas: the closed-form KL against a Monte-Carlo estimate,
the reparameterised gradient against finite differences of a quadrature, the KL schedule."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from benchmarks.common import load_config
from v101jax.algorithms import autoencoder
from v101jax.training.loop import example_batch

jax.config.update("jax_enable_x64", False)

MEAN = np.array([[0.3, -1.2, 0.0], [2.0, 0.5, -0.7]], np.float32)
LOG_VAR = np.array([[-0.5, 0.4, 0.0], [-2.0, 1.0, 0.3]], np.float32)


def test_closed_form_kl_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    n = 200_000
    std = np.exp(0.5 * LOG_VAR.astype(np.float64))
    z = MEAN + std * rng.standard_normal((n,) + MEAN.shape)  # [n, B, d]
    # log q(z|x) − log p(z), summed over d: an unbiased estimate of KL per example.
    log_ratio = stats.norm.logpdf(z, MEAN, std).sum(-1) - stats.norm.logpdf(z).sum(
        -1
    )  # [n, B]
    mc, err = log_ratio.mean(0), log_ratio.std(0) / np.sqrt(n)
    closed = np.asarray(autoencoder.kl_standard_normal(MEAN, LOG_VAR))
    assert closed.shape == (2,)
    np.testing.assert_array_less(np.abs(closed - mc), 5 * err + 1e-4)


def _f(z):
    """A smooth nonlinear test function of the latent, summed over its dimensions."""
    return jnp.sum(jnp.sin(2.0 * z) + 0.3 * z**2, axis=-1)


def _gauss_hermite_expectation(mean, log_var, order=80):
    """E_{z ~ N(μ, σ²)}[f(z)] per example by Gauss–Hermite quadrature (float64 NumPy)."""
    x, w = np.polynomial.hermite.hermgauss(order)
    std = np.exp(0.5 * log_var)
    z = mean[..., None] + np.sqrt(2.0) * std[..., None] * x  # [B, d, order]
    values = np.sin(2.0 * z) + 0.3 * z**2
    return ((values * w).sum(-1) / np.sqrt(np.pi)).sum(-1)  # [B]


def test_reparameterised_gradient_matches_finite_differences():
    # Per-sample gradients of f(μ + σ·ε) through autoencoder.reparameterize, then their mean.
    def one(key, mean, log_var):
        return jnp.sum(_f(autoencoder.reparameterize(key, mean, log_var)))

    keys = jax.random.split(jax.random.PRNGKey(0), 50_000)
    grads = jax.jit(jax.vmap(jax.grad(one, argnums=(1, 2)), in_axes=(0, None, None)))(
        keys, MEAN, LOG_VAR
    )
    h = 1e-4
    mean64, log_var64 = MEAN.astype(np.float64), LOG_VAR.astype(np.float64)
    for arg, g in enumerate(grads):
        g = np.asarray(g, np.float64)
        estimate, err = g.mean(0), g.std(0) / np.sqrt(len(g))
        fd = np.zeros_like(MEAN, np.float64)
        for idx in np.ndindex(MEAN.shape):
            step = np.zeros_like(fd)
            step[idx] = h
            args_plus = [mean64, log_var64]
            args_minus = [mean64, log_var64]
            args_plus[arg] = args_plus[arg] + step
            args_minus[arg] = args_minus[arg] - step
            fd[idx] = (
                _gauss_hermite_expectation(*args_plus)
                - _gauss_hermite_expectation(*args_minus)
            ).sum() / (2 * h)
        np.testing.assert_array_less(np.abs(estimate - fd), 5 * err + 1e-3)


def test_reparameterised_samples_have_the_posterior_moments():
    z = autoencoder.reparameterize(
        jax.random.PRNGKey(1),
        jnp.broadcast_to(MEAN, (20_000,) + MEAN.shape),
        jnp.broadcast_to(LOG_VAR, (20_000,) + MEAN.shape),
    )
    np.testing.assert_allclose(z.mean(0), MEAN, atol=0.05)
    np.testing.assert_allclose(z.std(0), np.exp(0.5 * LOG_VAR), rtol=0.03)


def test_kl_weight_ramps_linearly_to_beta():
    weights = [float(autoencoder.kl_weight(s, 4.0, 100)) for s in (0, 25, 100, 500)]
    np.testing.assert_allclose(weights, [0.0, 1.0, 4.0, 4.0])
    assert float(autoencoder.kl_weight(0, 4.0, 0)) == 4.0


def test_gaussian_log_likelihood_matches_scipy():
    x = np.random.default_rng(2).uniform(-1, 1, (2, 4, 4, 1)).astype(np.float32)
    mean = np.random.default_rng(3).uniform(-1, 1, x.shape).astype(np.float32)
    log_scale = np.array([-0.7], np.float32)
    got = autoencoder.log_likelihood("gaussian", mean, x, log_scale)
    want = stats.norm.logpdf(x, mean, np.exp(log_scale)).sum((1, 2, 3))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    logits = mean * 3
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    t = (x + 1) / 2
    want = (t * np.log(p) + (1 - t) * np.log(1 - p)).sum((1, 2, 3))
    got = autoencoder.log_likelihood("bernoulli", logits, x, log_scale)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_latent_maps_sum_the_kl_and_density_over_every_latent_value():
    """Spatial latents [B, h, w, d] are one vector of h·w·d values per image to the KL and
    the log-density (checked against the flattened vector form), and the first stage of
    latent diffusion encodes 28×28 to 7×7×4 and samples maps of that shape."""
    rng = np.random.default_rng(0)
    mean, log_var, z = (
        jnp.asarray(rng.standard_normal((3, 7, 7, 4)), jnp.float32) for _ in range(3)
    )
    flat = lambda a: a.reshape(3, -1)
    np.testing.assert_allclose(
        autoencoder.kl_standard_normal(mean, log_var),
        autoencoder.kl_standard_normal(flat(mean), flat(log_var)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        autoencoder.gaussian_log_density(z, mean, log_var),
        autoencoder.gaussian_log_density(flat(z), flat(mean), flat(log_var)),
        rtol=1e-6,
    )
    config = load_config("configs/ldm_autoencoder.py")
    assert autoencoder.latent_shape(config) == (7, 7, 4)
    state = jax.eval_shape(
        lambda key: autoencoder.init(config, key, example_batch(config, 2)),
        jax.random.PRNGKey(0),
    )
    samples = jax.eval_shape(
        lambda s, key: autoencoder.sample(config, s, key, 5),
        state,
        jax.random.PRNGKey(1),
    )
    assert samples.shape == (5, 28, 28, 1)
    latents = jax.eval_shape(
        lambda s, x: autoencoder.encode(config, s, x),
        state,
        jnp.zeros((2, 28, 28, 1)),
    )
    assert latents.shape == (2, 7, 7, 4)
