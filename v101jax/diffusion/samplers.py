"""Samplers for discrete-time diffusion, each one compiled program (`lax.scan` over steps).

A sampler takes `eps_fn(x_t, t) -> ε̂` (t an int32 [B] array of indices 0 … T−1), the
schedule, the starting noise x_T and a key; the noise of loop iteration i uses
`fold_in(rng, i)`, so samplers given the same key draw the same noise sequence.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from v101jax.diffusion import process
from v101jax.diffusion.alpha_sigma import vp_from_alpha_bar
from v101jax.diffusion.schedules import DiscreteSchedule


def _x0_and_eps(eps_fn, schedule, x, t, clip_x0: bool):
    eps = eps_fn(x, t)
    x0 = process.predict_x0_from_eps(schedule, x, t, eps)
    if clip_x0:
        x0 = jnp.clip(x0, -1.0, 1.0)
        # Keep ε consistent with the clipped x₀ so every update stays on the same x₀/ε pair.
        eps = process.predict_eps_from_x0(schedule, x, t, x0)
    return x0, eps


def ddpm_plan(schedule: DiscreteSchedule):
    """Per-iteration inputs of the ancestral sampler: (iteration i, timestep t = T−1−i)."""
    num_timesteps = schedule.num_timesteps
    i = np.arange(num_timesteps, dtype=np.int32)
    return (jnp.asarray(i), jnp.asarray(num_timesteps - 1 - i))


def ddpm_update(eps_fn, schedule: DiscreteSchedule, x, inputs, rng, *, clip_x0: bool):
    """One ancestral step x_t → x_{t−1} = μ̃_t(x̂₀, x_t) + sqrt(β̃_t)·z  (DDPM Algorithm 2)."""
    i, t_i = inputs
    t = jnp.full((x.shape[0],), t_i, jnp.int32)
    x0, _ = _x0_and_eps(eps_fn, schedule, x, t, clip_x0)
    mean, var = process.q_posterior(schedule, x0, x, t)
    z = jax.random.normal(jax.random.fold_in(rng, i), x.shape, x.dtype)
    return mean + jnp.sqrt(var) * z  # β̃_0 = 0: no noise at the last step


def ddpm_sample(eps_fn, schedule: DiscreteSchedule, x_T, rng, *, clip_x0: bool = True):
    """Ancestral sampling (DDPM Algorithm 2) with the posterior variance β̃_t.

    x_{t−1} = μ̃_t(x̂₀, x_t) + sqrt(β̃_t)·z, z ~ N(0, I) (z = 0 at the last step), where
    x̂₀ is the network's x₀ estimate.
    """
    update, plan = sampler_steps(
        "ddpm",
        eps_fn,
        schedule,
        rng,
        num_steps=schedule.num_timesteps,
        eta=1.0,
        clip_x0=clip_x0,
    )
    return scan_updates(update, x_T, plan)


def scan_updates(update, x_T, plan):
    """Runs `x = update(x, inputs)` over the rows of `plan` as one `lax.scan`."""
    x, _ = jax.lax.scan(lambda x, inputs: (update(x, inputs), None), x_T, plan)
    return x


SPACINGS = ("uniform", "quadratic", "trailing")


def ddim_timesteps(
    num_timesteps: int, num_steps: int, spacing: str = "uniform"
) -> np.ndarray:
    """`num_steps` increasing timestep indices for DDIM.

    uniform: evenly spaced from 0 to T−1 (all T when equal). quadratic: (linspace(0,
    sqrt(0.8·T), n))² truncated, as DDIM's reference code uses for CIFAR-10: dense at low
    noise, and starting at 0.8·T where the linear schedule's ᾱ is already ≈ 3e-4.
    trailing: round(i·T/n) − 1 for i = 1 … n, the ends of n equal intervals of the T steps
    (the last at T−1; diffusers' "trailing"). These grids nest: the grid of 2n holds the grid
    of n at its even positions, so one step of an n-step sampler spans exactly two steps of
    a 2n-step one, which progressive distillation needs.
    """
    if not 1 <= num_steps <= num_timesteps:
        raise ValueError(
            f"DDIM num_steps must be in [1, {num_timesteps}], got {num_steps}"
        )
    if spacing == "uniform":
        if num_steps == 1:
            return np.array([num_timesteps - 1])
        return np.linspace(0, num_timesteps - 1, num_steps).round().astype(np.int32)
    if spacing == "trailing":
        return (
            np.round(np.arange(1, num_steps + 1) * num_timesteps / num_steps) - 1
        ).astype(np.int32)
    if spacing == "quadratic":
        squares = np.linspace(0, np.sqrt(num_timesteps * 0.8), num_steps) ** 2
        ts = squares.astype(np.int32)
        # Truncation repeats the smallest indices (0, 0, 1, 3, …); the reference code then
        # takes empty steps. Nudge each up to one past its predecessor instead: ts[i] ≤
        # max(squares_i, i) ≤ T − 1, so the result stays in range.
        for i in range(1, num_steps):
            ts[i] = max(ts[i], ts[i - 1] + 1)
        return ts
    raise ValueError(
        f"timestep spacing {spacing!r} is not one of: {', '.join(SPACINGS)}"
    )


def ddim_plan(schedule: DiscreteSchedule, num_steps: int, spacing: str = "uniform"):
    """Per-iteration inputs (i, t, t'): t runs down the kept indices, t' is the next one
    (−1 after the last, where ᾱ = 1)."""
    ts = ddim_timesteps(schedule.num_timesteps, num_steps, spacing)
    t_prev = np.concatenate([[-1], ts[:-1]])
    i = np.arange(num_steps, dtype=np.int32)
    return (jnp.asarray(i), jnp.asarray(ts[::-1]), jnp.asarray(t_prev[::-1]))


def ddim_update(
    eps_fn, schedule: DiscreteSchedule, x, inputs, rng, *, eta: float, clip_x0: bool
):
    """One DDIM step x_t → x_{t'} (DDIM eq. 12 with σ from eq. 16)."""
    i, t_i, t_prev_i = inputs
    t = jnp.full((x.shape[0],), t_i, jnp.int32)
    x0, eps = _x0_and_eps(eps_fn, schedule, x, t, clip_x0)
    ac = schedule.alphas_cumprod[t_i]
    ac_prev = jnp.where(
        t_prev_i >= 0, schedule.alphas_cumprod[jnp.maximum(t_prev_i, 0)], 1.0
    )
    sigma = eta * jnp.sqrt((1.0 - ac_prev) / (1.0 - ac) * (1.0 - ac / ac_prev))
    z = jax.random.normal(jax.random.fold_in(rng, i), x.shape, x.dtype)
    dir_xt = jnp.sqrt(jnp.maximum(1.0 - ac_prev - sigma**2, 0.0)) * eps
    return jnp.sqrt(ac_prev) * x0 + dir_xt + sigma * z


def ddim_sample(
    eps_fn,
    schedule: DiscreteSchedule,
    x_T,
    rng,
    *,
    num_steps: int,
    eta: float = 0.0,
    clip_x0: bool = False,
):
    """DDIM (Song et al. 2021, eq. 12) over a subsequence of `num_steps` timesteps.

    x_{t'} = sqrt(ᾱ_{t'})·x̂₀ + sqrt(1 − ᾱ_{t'} − σ²)·ε̂ + σ·z, for the previous kept index t'
    (ᾱ = 1 before the first), with σ = η·sqrt((1 − ᾱ_{t'})/(1 − ᾱ_t))·sqrt(1 − ᾱ_t/ᾱ_{t'})
    (eq. 16). η = 0 is deterministic; η = 1 over all T steps is ancestral DDPM.
    """
    update, plan = sampler_steps(
        "ddim", eps_fn, schedule, rng, num_steps=num_steps, eta=eta, clip_x0=clip_x0
    )
    return scan_updates(update, x_T, plan)


def ddim_inversion_plan(
    schedule: DiscreteSchedule, num_steps: int, spacing: str = "uniform"
):
    """Per-iteration inputs (t, t'') of `ddim_invert`: t runs up from −1 (ᾱ = 1, the data)
    through the kept indices but the last, t'' is the next kept index."""
    ts = ddim_timesteps(schedule.num_timesteps, num_steps, spacing)
    t_from = np.concatenate([[-1], ts[:-1]])
    return (jnp.asarray(t_from), jnp.asarray(ts))


def ddim_invert_update(eps_fn, schedule: DiscreteSchedule, x, inputs):
    """x_t → x_{t''} along DDIM's η = 0 path, ε̂ taken at the current index (at t'' for the
    first step, from the data, where ε̂ is undefined): the decoder's step run backwards."""
    t_i, t_next = inputs
    t_eval = jnp.where(t_i >= 0, t_i, t_next)
    eps = eps_fn(x, jnp.full((x.shape[0],), t_eval, jnp.int32))
    alpha, sigma = vp_from_alpha_bar(
        jnp.where(t_i >= 0, schedule.alphas_cumprod[jnp.maximum(t_i, 0)], 1.0)
    )
    alpha_next, sigma_next = vp_from_alpha_bar(schedule.alphas_cumprod[t_next])
    x0 = (x - sigma * eps) / alpha
    return alpha_next * x0 + sigma_next * eps


def ddim_invert(
    eps_fn, schedule: DiscreteSchedule, x0, *, num_steps: int, spacing="uniform"
):
    """Deterministic DDIM encoding x₀ → x_T (Song et al. 2021, section 4.3): the η = 0
    update run from ᾱ = 1 up the same `num_steps` indices that `ddim_sample` comes down,
    so decoding the result with η = 0 recovers x₀ up to discretisation error."""
    update = functools.partial(ddim_invert_update, eps_fn, schedule)
    return scan_updates(update, x0, ddim_inversion_plan(schedule, num_steps, spacing))


SAMPLERS = ("ddpm", "ddim")


def sampler_steps(
    name: str,
    eps_fn,
    schedule: DiscreteSchedule,
    rng,
    *,
    num_steps: int,
    eta: float,
    clip_x0: bool,
    spacing: str = "uniform",
):
    """(update, plan) of the sampler `name`: `scan_updates(update, x_T, plan)` samples.

    One place that maps a sampler name to its step, shared by `sample` and the benchmarks
    (which also run the same update in a Python loop). DDPM always runs all T steps.
    """
    if name == "ddpm":
        update = functools.partial(
            ddpm_update, eps_fn, schedule, rng=rng, clip_x0=clip_x0
        )
        return update, ddpm_plan(schedule)
    if name == "ddim":
        update = functools.partial(
            ddim_update, eps_fn, schedule, rng=rng, eta=eta, clip_x0=clip_x0
        )
        return update, ddim_plan(schedule, num_steps, spacing)
    raise ValueError(f"sampler {name!r} is not one of: {', '.join(SAMPLERS)}")
