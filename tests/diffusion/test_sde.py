"""The VP, sub-VP and VE SDEs: marginals against their closed forms and against the mean and
variance ODEs of the SDE integrated numerically; priors against numpy and scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from v101jax.diffusion import sde as sde_lib

B0, B1 = 0.1, 20.0
S_MIN, S_MAX = 0.01, 50.0
SDES = {
    "vp": sde_lib.VPSDE(beta_min=B0, beta_max=B1),
    "subvp": sde_lib.SubVPSDE(beta_min=B0, beta_max=B1),
    "ve": sde_lib.VESDE(sigma_min=S_MIN, sigma_max=S_MAX),
}
TIMES = np.array([1e-3, 0.05, 0.3, 0.7, 1.0], np.float32)


def closed_form(name, t):
    """(mean coefficient, std) written out from the paper, in float64."""
    t = np.float64(t)
    log_m = -0.25 * t**2 * (B1 - B0) - 0.5 * t * B0
    if name == "vp":
        return np.exp(log_m), np.sqrt(1 - np.exp(2 * log_m))
    if name == "subvp":
        return np.exp(log_m), 1 - np.exp(2 * log_m)
    return np.ones_like(t), S_MIN * (S_MAX / S_MIN) ** t


@pytest.mark.parametrize("name", list(SDES))
def test_marginal_matches_the_closed_form(name):
    sde = SDES[name]
    x0 = jnp.full((len(TIMES), 3), 2.0)
    mean, std = sde.marginal(x0, jnp.asarray(TIMES))
    m_ref, s_ref = closed_form(name, TIMES)
    np.testing.assert_allclose(mean[:, 0], 2.0 * m_ref, rtol=1e-5)
    np.testing.assert_allclose(std, s_ref, rtol=1e-4)


@pytest.mark.parametrize("name", list(SDES))
def test_marginal_solves_the_moment_odes_of_the_sde(name):
    """For dx = f(t)x dt + g(t)dw: dm/dt = f(t)·m and dv/dt = 2f(t)·v + g(t)², integrated by
    scipy from the SDE's own f and g (VE starts at variance σ_min², see VESDE)."""
    sde = SDES[name]
    coeffs = jax.jit(lambda t: (sde.drift_coeff(t), sde.diffusion(t)))

    def rhs(t, y):
        f, g = map(float, coeffs(jnp.float32(t)))
        return [f * y[0], 2 * f * y[1] + g**2]

    v0 = S_MIN**2 if name == "ve" else 0.0
    sol = integrate.solve_ivp(
        rhs, (0.0, 1.0), [1.0, v0], t_eval=TIMES, rtol=1e-8, atol=1e-10
    )
    mean, std = sde.marginal(jnp.ones((len(TIMES), 1)), jnp.asarray(TIMES))
    np.testing.assert_allclose(mean[:, 0], sol.y[0], rtol=1e-4)
    np.testing.assert_allclose(std, np.sqrt(sol.y[1]), rtol=2e-3)


@pytest.mark.parametrize("name", list(SDES))
def test_prior_sampling_and_log_density(name):
    sde = SDES[name]
    expected_std = S_MAX if name == "ve" else 1.0
    # The prior is the marginal at t = 1 (VP/sub-VP up to m(1) ≈ 7e-3).
    assert float(sde.std(1.0)) == pytest.approx(expected_std, rel=1e-4)
    z = sde.prior_sample(jax.random.PRNGKey(0), (4000, 5))
    assert float(jnp.std(z)) == pytest.approx(expected_std, rel=0.02)
    assert abs(float(jnp.mean(z))) < 0.03 * expected_std
    ref = stats.norm(0, expected_std).logpdf(np.asarray(z[:7], np.float64)).sum(-1)
    np.testing.assert_allclose(sde.prior_logp(z[:7]), ref, rtol=1e-5)


@pytest.mark.parametrize("name", list(SDES))
def test_reverse_drifts_differ_by_half_the_score_term(name):
    sde = SDES[name]
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
    score = jax.random.normal(jax.random.PRNGKey(2), (4, 3))
    t = jnp.full((4,), 0.4)
    g2 = float(sde.diffusion(0.4)) ** 2
    forward = np.asarray(sde.drift(x, t))
    np.testing.assert_allclose(
        sde.reverse_drift(x, t, score, probability_flow=False),
        forward - g2 * np.asarray(score),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        sde.reverse_drift(x, t, score, probability_flow=True),
        forward - 0.5 * g2 * np.asarray(score),
        rtol=1e-5,
    )


@pytest.mark.parametrize("name", list(SDES))
def test_one_step_discretisation_keeps_the_marginal_variance(name):
    """Forward steps s → t of `discretize` applied to x_s ~ N(0, σ_s²) (x₀ = 0) give
    Var = σ_t² to first order in t − s (exactly for VP and VE)."""
    sde = SDES[name]
    s, t = 0.5, 0.51
    x = jnp.ones((1, 1))
    f, g = sde.discretize(x, jnp.full((1,), t), jnp.full((1,), s))
    a = 1.0 + float(f[0, 0])  # x_t = a·x_s + G·z for a linear drift
    var = a**2 * float(sde.std(s)) ** 2 + float(jnp.ravel(g)[0]) ** 2
    rel = 1e-4 if name in ("vp", "ve") else 2e-2
    assert var == pytest.approx(float(sde.std(t)) ** 2, rel=rel)


def test_unknown_sde_name_is_a_config_error():
    import ml_collections

    from v101jax.core.errors import ConfigError

    with pytest.raises(ConfigError, match="sde.name"):
        sde_lib.sde_from_config(ml_collections.ConfigDict({"name": "vpp"}))
