"""Progressive distillation's target (Salimans & Ho 2022, Algorithm 2) on a discrete schedule.

A student sampler of n deterministic DDIM steps runs on the "trailing" grid g_i = round(i·T/n)
− 1 (i = 1 … n; g_0 = −1 stands for the data, ᾱ = 1), which nests in the teacher's grid of 2n
steps. For a student step g_i → g_{i−1} the teacher takes two, through the midpoint m (the
teacher grid's point 2i − 1). With α = sqrt(ᾱ), σ = sqrt(1 − ᾱ) and the η = 0 step

    z_s = α_s·x̂ + (σ_s/σ_t)·(z_t − α_t·x̂)

the target is the x̃ whose single step from z_t lands on the teacher's two-step z_{t''}:

    x̃ = (z_{t''} − (σ_{t''}/σ_t)·z_t) / (α_{t''} − (σ_{t''}/σ_t)·α_t)

(the paper's Algorithm 2 line 9; at the last step σ_{t''} = 0 and x̃ is the teacher's x̂).
The denominator is positive because SNR falls with t. The student regresses x̃ with the
weight max(SNR_t, 1) ("truncated SNR") or 1 + SNR_t ("SNR+1", what v-regression implies),
as in the paper's section 4.
"""

import jax.numpy as jnp
import numpy as np

from v101jax.diffusion.alpha_sigma import batch_broadcast, vp_from_alpha_bar
from v101jax.diffusion.samplers import ddim_timesteps
from v101jax.diffusion.schedules import DiscreteSchedule

WEIGHTINGS = ("truncated_snr", "snr_plus_one")


def grid(num_timesteps: int, num_steps: int) -> np.ndarray:
    """[−1, g_1, …, g_n]: the data, then the n-step sampler's timesteps (trailing)."""
    return np.concatenate(
        [[-1], ddim_timesteps(num_timesteps, num_steps, "trailing")]
    ).astype(np.int32)


def alpha_sigma_at(schedule: DiscreteSchedule, t, x):
    """(α, σ) at indices t [B] (−1: the data, α = 1 and σ = 0), shaped to broadcast
    against x [B, …]."""
    alpha_bar = jnp.where(t >= 0, schedule.alphas_cumprod[jnp.maximum(t, 0)], 1.0)
    return vp_from_alpha_bar(batch_broadcast(alpha_bar, x))


def ddim_step(z, x0, alpha, sigma, alpha_next, sigma_next):
    """The deterministic DDIM step from z (at α, σ) to (α_next, σ_next) given x̂₀."""
    return alpha_next * x0 + sigma_next / sigma * (z - alpha * x0)


def two_step_target(teacher_x0, schedule: DiscreteSchedule, z, t, t_mid, t_next):
    """x̃ at z [B, …] (noised to indices t [B]) such that one DDIM step to t_next matches the
    teacher's two steps t → t_mid → t_next; teacher_x0(z, t) → x̂₀."""
    a_t, s_t = alpha_sigma_at(schedule, t, z)
    a_m, s_m = alpha_sigma_at(schedule, t_mid, z)
    a_n, s_n = alpha_sigma_at(schedule, t_next, z)
    z_mid = ddim_step(z, teacher_x0(z, t), a_t, s_t, a_m, s_m)
    z_next = ddim_step(z_mid, teacher_x0(z_mid, t_mid), a_m, s_m, a_n, s_n)
    ratio = s_n / s_t
    return (z_next - ratio * z) / (a_n - ratio * a_t)


def loss_weight(schedule: DiscreteSchedule, t, x, weighting: str):
    """The x-space loss weight at indices t [B], shaped like alpha_sigma_at's."""
    alpha, sigma = alpha_sigma_at(schedule, t, x)
    snr = alpha**2 / sigma**2
    if weighting == "truncated_snr":
        return jnp.maximum(snr, 1.0)
    if weighting == "snr_plus_one":
        return snr + 1.0
    raise ValueError(f"weighting {weighting!r} is not one of: {', '.join(WEIGHTINGS)}")
