"""The forward process q(x_t | x₀), its posterior q(x_{t−1} | x_t, x₀) and ε ↔ x₀ conversions."""

import jax.numpy as jnp

from v101jax.diffusion.schedules import DiscreteSchedule


def _bcast(values, t, x):
    """values[t] shaped [B, 1, …, 1] to broadcast against x [B, …]."""
    v = values[t]
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim))


def q_sample(schedule: DiscreteSchedule, x0, t, noise):
    """x_t = sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·ε  (DDPM eq. 4)."""
    ac = _bcast(schedule.alphas_cumprod, t, x0)
    return jnp.sqrt(ac) * x0 + jnp.sqrt(1.0 - ac) * noise


def predict_x0_from_eps(schedule: DiscreteSchedule, x_t, t, eps):
    """x₀ = (x_t − sqrt(1 − ᾱ_t)·ε) / sqrt(ᾱ_t)  (DDIM eq. 12, the "predicted x₀")."""
    ac = _bcast(schedule.alphas_cumprod, t, x_t)
    return (x_t - jnp.sqrt(1.0 - ac) * eps) / jnp.sqrt(ac)


def predict_eps_from_x0(schedule: DiscreteSchedule, x_t, t, x0):
    """ε = (x_t − sqrt(ᾱ_t)·x₀) / sqrt(1 − ᾱ_t), the inverse of predict_x0_from_eps."""
    ac = _bcast(schedule.alphas_cumprod, t, x_t)
    return (x_t - jnp.sqrt(ac) * x0) / jnp.sqrt(1.0 - ac)


def q_posterior(schedule: DiscreteSchedule, x0, x_t, t):
    """Mean and variance of q(x_{t−1} | x_t, x₀)  (DDPM eqs. 6–7)."""
    mean = (
        _bcast(schedule.posterior_mean_coef1, t, x_t) * x0
        + _bcast(schedule.posterior_mean_coef2, t, x_t) * x_t
    )
    return mean, _bcast(schedule.posterior_variance, t, x_t)
