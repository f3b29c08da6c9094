"""The shared signal and noise scales (v101jax/diffusion/alpha_sigma.py): the discrete process
and the VP SDE both obey α² + σ² = 1, and the linear-β chain is the VP SDE at t = (i + 1)/T."""

import jax.numpy as jnp
import numpy as np

from v101jax.diffusion import alpha_sigma, process, schedules
from v101jax.diffusion import sde as sde_lib

T = 1000


def linear_schedule():
    return schedules.DiscreteSchedule.from_betas(schedules.linear_betas(T, 1e-4, 0.02))


def test_discrete_scales_are_sqrt_alpha_bar_and_preserve_variance():
    schedule = linear_schedule()
    t = jnp.array([0, 10, 500, T - 1])
    alpha, sigma = process.alpha_sigma(schedule, t, jnp.zeros((4, 3, 2)))
    assert alpha.shape == sigma.shape == (4, 1, 1)
    ac = np.asarray(schedule.alphas_cumprod)[np.asarray(t)]
    np.testing.assert_allclose(alpha[:, 0, 0], np.sqrt(ac), rtol=1e-6)
    np.testing.assert_allclose(alpha**2 + sigma**2, 1.0, rtol=1e-6)


def test_the_two_forms_of_the_vp_relation_agree():
    log_alpha = jnp.linspace(-5.0, -1e-3, 50)
    _, sigma = alpha_sigma.vp_from_alpha_bar(jnp.exp(2.0 * log_alpha))
    np.testing.assert_allclose(
        jnp.sqrt(alpha_sigma.vp_variance(log_alpha)), sigma, rtol=1e-5
    )
    # Near α = 1 the log form keeps its accuracy where 1 − ᾱ cancels in float32.
    tiny = jnp.float32(-1e-9)
    np.testing.assert_allclose(alpha_sigma.vp_variance(tiny), 2e-9, rtol=1e-6)


def test_linear_beta_chain_is_the_vp_sde_at_matching_times():
    """β(t) = T·β_t (β_min = 0.1, β_max = 20 for DDPM's 1e-4 … 0.02): ᾱ_i ≈ m((i + 1)/T)²,
    to first order in β, so the scales differ by about 1e-3 at T = 1000."""
    schedule = linear_schedule()
    vp = sde_lib.VPSDE(beta_min=0.1, beta_max=20.0)
    t = jnp.asarray((np.arange(T) + 1) / T, jnp.float32)
    alpha, sigma = alpha_sigma.vp_from_alpha_bar(schedule.alphas_cumprod)
    np.testing.assert_allclose(alpha, vp.mean_coeff(t), atol=2e-3)
    np.testing.assert_allclose(sigma, vp.std(t), atol=2e-3)
    np.testing.assert_allclose(sde_lib.SubVPSDE().std(t), vp.std(t) ** 2, rtol=1e-5)
