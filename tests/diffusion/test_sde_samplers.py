"""Score-SDE samplers and the probability-flow likelihood, checked without training, using the
exact noise predictor of Gaussian data.

For x₀ ~ N(μ, diag s²) the marginal of every SDE here is p_t = N(m(t)μ, diag(m(t)²s² + σ(t)²))
(VE: m = 1), so the exact score is −(x − mμ)/(m²s² + σ²) and the exact noise predictor is
ε(x, t) = −σ(t)·score = σ(t)(x − mμ)/(m²s² + σ²). Driven by it, every sampler must return
N(μ, diag s²), and the probability-flow ODE must give the Gaussian's log-density.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from v101jax.diffusion import sde as sde_lib
from v101jax.diffusion import sde_samplers

MU = np.array([0.5, -0.3], np.float32)
S = np.array([0.3, 0.6], np.float32)
N = 4000
# Each SDE with the time floor t_min its samplers stop at.
SDES = {
    "vp": (sde_lib.VPSDE(), 1e-3),
    "subvp": (sde_lib.SubVPSDE(), 1e-3),
    "ve": (sde_lib.VESDE(sigma_min=0.01, sigma_max=10.0), 1e-5),
}


def exact_eps_fn(sde, sign=1.0):
    def eps_fn(x, t):
        m = sde.mean_coeff(t)[:, None]
        std = sde.std(t)[:, None]
        return sign * std * (x - m * MU) / (m**2 * S**2 + std**2)

    return eps_fn


def matches_data(x) -> bool:
    """Per-coordinate mean within 0.03 and std within 6% of the data's (standard errors with
    4000 samples: mean ≤ 0.01, std ≈ 1.1%)."""
    x = np.asarray(x)
    return bool(
        np.all(np.abs(x.mean(0) - MU) < 0.03)
        and np.all(np.abs(x.std(0) / S - 1) < 0.06)
    )


def draw(name, sampler, sign=1.0, calls=None, **kwargs):
    sde, t_min = SDES[name]
    eps_fn = exact_eps_fn(sde, sign)
    x_1 = sde.prior_sample(jax.random.PRNGKey(0), (N, 2))
    if sampler == "ode":

        def counted(x, t):
            jax.debug.callback(lambda: calls.append(1))
            return eps_fn(x, t)

        return jax.jit(
            lambda x: sde_samplers.ode_sample(sde, counted, x, t_min=t_min, **kwargs)
        )(x_1)
    run = {"em": sde_samplers.em_sample, "pc": sde_samplers.pc_sample}[sampler]
    return jax.jit(lambda x, k: run(sde, eps_fn, x, k, t_min=t_min, **kwargs))(
        x_1, jax.random.PRNGKey(1)
    )


def summary(x):
    x = np.asarray(x)
    return x.mean(0).tolist(), x.std(0).tolist()


@pytest.mark.parametrize("name", ["vp", "subvp", "ve"])
def test_euler_maruyama_recovers_gaussian_data(name):
    out = draw(name, "em", num_steps=300)
    assert matches_data(out), summary(out)


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_predictor_corrector_recovers_gaussian_data(name):
    out = draw(name, "pc", num_steps=100, corrector_steps=1, snr=0.16)
    assert matches_data(out), summary(out)


@pytest.mark.parametrize("name,solver", [("vp", "tsit5"), ("ve", "dopri5")])
def test_probability_flow_ode_recovers_gaussian_data_and_counts_its_calls(name, solver):
    calls = []
    out, nfe = draw(name, "ode", calls=calls, rtol=1e-4, atol=1e-4, solver=solver)
    jax.effects_barrier()
    assert matches_data(out), summary(out)
    assert int(nfe) == len(calls) > 10


def test_a_sign_error_in_the_noise_predictor_is_detected():
    out = draw("vp", "pc", sign=-1.0, num_steps=50)
    assert not matches_data(out), summary(out)


@pytest.mark.parametrize("name", ["vp"])
def test_probability_flow_likelihood_is_the_data_log_density(name):
    """The drift is linear with a diagonal Jacobian here, so a Rademacher probe gives the
    exact divergence and the only errors are the solver's and the prior's: p_1 is not
    exactly the prior N(0, prior_std²), which the reference accounts for in closed form."""
    sde, _ = SDES[name]
    x = MU + S * np.asarray(jax.random.normal(jax.random.PRNGKey(5), (32, 2)))
    log_p, x_1, _ = jax.jit(
        lambda x, k: sde_samplers.log_likelihood(
            sde, exact_eps_fn(sde), x, k, t_min=1e-5, rtol=1e-4, atol=1e-4
        )
    )(jnp.asarray(x, jnp.float32), jax.random.PRNGKey(6))
    m1, s1 = float(sde.mean_coeff(1.0)), float(sde.std(1.0))
    true_p1 = stats.norm(m1 * MU, np.sqrt(m1**2 * S**2 + s1**2)).logpdf(x_1).sum(-1)
    prior_mismatch = np.asarray(sde.prior_logp(x_1)) - true_p1
    ref = stats.norm(MU, S).logpdf(x).sum(-1) + prior_mismatch
    np.testing.assert_allclose(np.asarray(log_p), ref, atol=0.01)
    assert np.abs(prior_mismatch).max() < 0.3  # the prior is nearly p_1


def test_hutchinson_probes_have_identity_second_moment():
    for kind in sde_samplers.PROBES:
        v = sde_samplers.hutchinson_probe(jax.random.PRNGKey(0), (4000, 3), kind)
        np.testing.assert_allclose(np.cov(np.asarray(v).T), np.eye(3), atol=0.08)


def test_compiled_sampler_size_does_not_grow_with_steps():
    sde, t_min = SDES["vp"]
    eps_fn = exact_eps_fn(sde)
    x_1 = jnp.zeros((4, 2))

    def program(num_steps):
        def fn(x, k):
            return sde_samplers.pc_sample(
                sde, eps_fn, x, k, num_steps=num_steps, t_min=t_min
            )

        return jax.jit(fn).lower(x_1, jax.random.PRNGKey(0)).as_text()

    # The step count only appears as constants (the time grid), not as unrolled code.
    assert abs(len(program(10)) - len(program(20))) < 2000


def test_bits_per_dim_offset_of_dequantised_images():
    # A uniform density on [-1, 1]^D is 1/256 per dequantised pixel value: 8 bits/dim.
    log_p = jnp.array([-10 * np.log(2.0)])
    np.testing.assert_allclose(
        sde_samplers.bits_per_dim(log_p, 10, pixel_scale=128.0), 8.0, rtol=1e-6
    )
