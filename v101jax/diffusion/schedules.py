"""Discrete-time noise schedules: β_t and everything derived from it.

One definition of the signal and noise scales serves the forward process, the losses and
every sampler: x_t = α_t·x₀ + σ_t·ε with α_t = sqrt(ᾱ_t), σ_t = sqrt(1 − ᾱ_t),
ᾱ_t = ∏_{s≤t} (1 − β_s). Indices t run 0 … T−1 (the paper's 1 … T). The map ᾱ ↦ (α, σ) is
alpha_sigma.vp_from_alpha_bar, the variance-preserving relation the VP SDE (sde.py) shares;
this module defines the discrete ᾱ_t only.
"""

import flax.struct
import jax.numpy as jnp
import numpy as np

from v101jax.core.errors import ConfigError


def linear_betas(num_timesteps: int, beta_start: float, beta_end: float) -> np.ndarray:
    """DDPM's linear schedule, β from beta_start to beta_end (float64)."""
    return np.linspace(beta_start, beta_end, num_timesteps, dtype=np.float64)


def cosine_betas(
    num_timesteps: int, s: float = 0.008, max_beta: float = 0.999
) -> np.ndarray:
    """Nichol & Dhariwal (2021, eq. 17): ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2).

    β_t = 1 − ᾱ_t/ᾱ_{t−1}, clipped at `max_beta` to avoid the singularity at t = T. Index t
    (0 … T−1) is the paper's t + 1, so ᾱ of index t is f(t + 1)/f(0).
    """
    steps = np.arange(num_timesteps + 1, dtype=np.float64) / num_timesteps
    f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    return np.minimum(1.0 - alphas_cumprod[1:] / alphas_cumprod[:-1], max_beta)


class DiscreteSchedule(flax.struct.PyTreeNode):
    """Per-timestep constants of a discrete diffusion, each [T] float32.

    alphas_cumprod: ᾱ_t.  alphas_cumprod_prev: ᾱ_{t−1} (ᾱ_{−1} = 1).
    posterior_variance: β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t)  (DDPM eq. 7).
    posterior_mean_coef1/2: μ̃_t = coef1·x₀ + coef2·x_t  (DDPM eq. 7).
    """

    betas: jnp.ndarray
    alphas_cumprod: jnp.ndarray
    alphas_cumprod_prev: jnp.ndarray
    posterior_variance: jnp.ndarray
    posterior_log_variance_clipped: jnp.ndarray
    posterior_mean_coef1: jnp.ndarray
    posterior_mean_coef2: jnp.ndarray

    @property
    def num_timesteps(self) -> int:
        return self.betas.shape[0]

    @classmethod
    def from_betas(cls, betas: np.ndarray) -> "DiscreteSchedule":
        betas = np.asarray(betas, np.float64)
        if betas.ndim != 1 or np.any(betas <= 0) or np.any(betas >= 1):
            raise ConfigError("β schedule must be a 1-D array with 0 < β_t < 1")
        alphas = 1.0 - betas
        ac = np.cumprod(alphas)
        ac_prev = np.append(1.0, ac[:-1])
        post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
        # β̃_0 = 0; log-variance clipped with β̃_1 as in DDPM's reference code.
        post_log_var = np.log(np.append(post_var[1], post_var[1:]))
        f = lambda a: jnp.asarray(a, jnp.float32)
        return cls(
            betas=f(betas),
            alphas_cumprod=f(ac),
            alphas_cumprod_prev=f(ac_prev),
            posterior_variance=f(post_var),
            posterior_log_variance_clipped=f(post_log_var),
            posterior_mean_coef1=f(betas * np.sqrt(ac_prev) / (1.0 - ac)),
            posterior_mean_coef2=f((1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac)),
        )


BETA_SCHEDULES = ("linear", "cosine")


def schedule_from_config(diffusion_cfg) -> DiscreteSchedule:
    name = diffusion_cfg.beta_schedule
    if name == "linear":
        betas = linear_betas(
            diffusion_cfg.num_timesteps,
            diffusion_cfg.beta_start,
            diffusion_cfg.beta_end,
        )
    elif name == "cosine":
        betas = cosine_betas(diffusion_cfg.num_timesteps, diffusion_cfg.cosine_s)
    else:
        raise ConfigError(
            f"diffusion.beta_schedule={name!r} is not one of: {', '.join(BETA_SCHEDULES)}"
        )
    return DiscreteSchedule.from_betas(betas)
