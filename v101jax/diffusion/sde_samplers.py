"""Samplers and the exact likelihood of score-based SDE models (Song et al. 2021, §4 and
appendix D), each one compiled program.

Every function takes `eps_fn(x, t) -> ε̂` with t a float [B] array of continuous times in
[0, 1]; the score is s(x, t) = −ε̂(x, t)/σ(t) (a noise predictor, as the DSM loss in
v101jax/algorithms/score_sde.py trains it). The noise of loop iteration i comes from
fold_in(rng, i). The stochastic samplers are a `lax.scan` over a fixed time grid (compile
time independent of the step count); the ODE solves run diffrax's adaptive loop.

Time grid of the stochastic samplers: N steps t_0 = 1 > t_1 > … > t_N = t_min, evenly spaced
(t_min > 0 is the time floor: σ(t) → 0 and the score blows up at t = 0).
Step i goes from t_i to t_{i+1}; the last step adds no noise (it returns the step's mean, as
score_sde's samplers return `x_mean`), so the result carries no extra noise of size g·sqrt(Δt).
"""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from v101jax.diffusion.alpha_sigma import batch_broadcast
from v101jax.diffusion.sde import sum_except_batch


def score_from_eps(sde, eps_fn):
    """s(x, t) = −ε̂(x, t)/σ(t): the score implied by a noise predictor."""

    def score_fn(x, t):
        return -eps_fn(x, t) / batch_broadcast(sde.std(t), x)

    return score_fn


def time_grid(num_steps: int, t_min: float):
    """(i, t_i, t_{i+1}) for i = 0 … N−1 on t = linspace(1, t_min, N + 1), as float32 arrays."""
    ts = np.linspace(1.0, t_min, num_steps + 1)
    i = np.arange(num_steps, dtype=np.int32)
    return (
        jnp.asarray(i),
        jnp.asarray(ts[:-1], jnp.float32),
        jnp.asarray(ts[1:], jnp.float32),
    )


def _scan(update, x, plan):
    x, _ = jax.lax.scan(lambda x, inputs: (update(x, inputs), None), x, plan)
    return x


def _last_step_mask(i, num_steps):
    """1 for every step but the last, where the noise is dropped (the mean is returned)."""
    return jnp.where(i == num_steps - 1, 0.0, 1.0)


def euler_maruyama_step(sde, score_fn, x, t, s, z):
    """One Euler–Maruyama step of the reverse SDE (eq. 6) from t down to s < t.

    x_mean = x + [f(t)x − g(t)²·s(x, t)]·(s − t);  x = x_mean + g(t)·sqrt(t − s)·z.
    Returns (x, x_mean).
    """
    tb = jnp.full((x.shape[0],), t)
    drift = sde.reverse_drift(x, tb, score_fn(x, tb), probability_flow=False)
    x_mean = x + drift * (s - t)
    return x_mean + batch_broadcast(sde.diffusion(tb) * jnp.sqrt(t - s), x) * z, x_mean


def reverse_diffusion_step(sde, score_fn, x, t, s, z):
    """One reverse-diffusion predictor step (Song et al. 2021, eq. 46) from t down to s.

    With the forward step s → t written as x_t = x_s + f_i + G_i·z (`sde.discretize`):
    x_mean = x − f_i + G_i²·s(x, t);  x = x_mean + G_i·z. For VE this is SMLD's ancestral
    step; for VP, with β_i = 1 − m(t)²/m(s)², DDPM's step to first order. Returns (x, x_mean).
    """
    tb = jnp.full((x.shape[0],), t)
    f, g = sde.discretize(x, tb, jnp.full((x.shape[0],), s))
    g = batch_broadcast(g * jnp.ones_like(tb), x)
    x_mean = x - f + g**2 * score_fn(x, tb)
    return x_mean + g * z, x_mean


PREDICTORS = {
    "em": euler_maruyama_step,
    "reverse_diffusion": reverse_diffusion_step,
}


def langevin_step(sde, score_fn, x, t, s, z, *, snr: float):
    """One Langevin corrector step at time t (Song et al. 2021, Algorithm 4/5).

    step = 2·α·(snr·‖z‖/‖s(x, t)‖)² with the norms over each sample's dimensions averaged over
    the batch (score_sde's rule), α = 1 − β_i for VP and 1 otherwise;
    x_mean = x + step·s(x, t);  x = x_mean + sqrt(2·step)·z. Returns (x, x_mean).
    """
    tb = jnp.full((x.shape[0],), t)
    score = score_fn(x, tb)
    score_norm = jnp.mean(jnp.linalg.norm(score.reshape(x.shape[0], -1), axis=-1))
    noise_norm = jnp.mean(jnp.linalg.norm(z.reshape(x.shape[0], -1), axis=-1))
    alpha = sde.langevin_alpha(t, s)
    step = 2.0 * alpha * (snr * noise_norm / score_norm) ** 2
    x_mean = x + step * score
    return x_mean + jnp.sqrt(2.0 * step) * z, x_mean


def em_sample(sde, eps_fn, x_1, rng, *, num_steps: int, t_min: float):
    """Euler–Maruyama on the reverse SDE from x_1 at t = 1 to t = t_min in `num_steps` steps."""
    return pc_sample(
        sde,
        eps_fn,
        x_1,
        rng,
        num_steps=num_steps,
        t_min=t_min,
        predictor="em",
        corrector_steps=0,
        snr=0.0,
    )


def pc_sample(
    sde,
    eps_fn,
    x_1,
    rng,
    *,
    num_steps: int,
    t_min: float,
    predictor: str = "reverse_diffusion",
    corrector_steps: int = 1,
    snr: float = 0.16,
):
    """Predictor–corrector sampling (Song et al. 2021, Algorithm 1).

    At each grid time t_i: `corrector_steps` Langevin steps at t_i, then one predictor step
    t_i → t_{i+1} (score_sde's order). Iteration i draws its noise from fold_in(rng, i):
    corrector step j from fold_in(·, j), the predictor from fold_in(·, corrector_steps).
    `corrector_steps=0` is the predictor alone.
    """
    if predictor not in PREDICTORS:
        raise ValueError(
            f"predictor {predictor!r} is not one of: {', '.join(PREDICTORS)}"
        )
    predictor_step = PREDICTORS[predictor]
    score_fn = score_from_eps(sde, eps_fn)

    def update(x, inputs):
        i, t, s = inputs
        key = jax.random.fold_in(rng, i)
        for j in range(corrector_steps):
            z = jax.random.normal(jax.random.fold_in(key, j), x.shape, x.dtype)
            x, _ = langevin_step(sde, score_fn, x, t, s, z, snr=snr)
        z = jax.random.normal(
            jax.random.fold_in(key, corrector_steps), x.shape, x.dtype
        )
        z = z * _last_step_mask(i, num_steps)
        x, _ = predictor_step(sde, score_fn, x, t, s, z)
        return x

    return _scan(update, x_1, time_grid(num_steps, t_min))


def probability_flow_drift(sde, eps_fn):
    """dx/dt = f(t)x − ½g(t)²·s(x, t) = f(t)x + ½g(t)²·ε̂(x, t)/σ(t)  (eq. 13)."""
    score_fn = score_from_eps(sde, eps_fn)

    def drift(x, t):
        tb = jnp.full((x.shape[0],), t)
        return sde.reverse_drift(x, tb, score_fn(x, tb), probability_flow=True)

    return drift


SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5}


def _solve(vector_field, y0, t0, t1, *, solver: str, rtol: float, atol: float):
    """diffrax solve of dy/dt = vector_field(t, y) from t0 to t1; returns (y(t1), nfe).

    nfe: vector-field evaluations, 6·(attempted steps) + 1: Tsit5 and Dopri5 evaluate 6 new
    stages per step (first-same-as-last reuses the 7th), plus one evaluation before the first
    step (tests/diffusion/test_sde_samplers.py counts the calls).
    """
    if solver not in SOLVERS:
        raise ValueError(f"ODE solver {solver!r} is not one of: {', '.join(SOLVERS)}")
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: vector_field(t, y)),
        SOLVERS[solver](),
        t0=t0,
        t1=t1,
        dt0=None,
        y0=y0,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(t1=True),
        max_steps=4096,
    )
    y1 = jax.tree.map(lambda y: y[-1], sol.ys)
    return y1, 6 * sol.stats["num_steps"] + 1


def ode_sample(
    sde,
    eps_fn,
    x_1,
    *,
    t_min: float,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    solver: str = "tsit5",
):
    """Integrates the probability-flow ODE (eq. 13) from x_1 at t = 1 to t = t_min with an
    adaptive Runge–Kutta solver. Deterministic. Returns (x at t_min, nfe)."""
    drift = probability_flow_drift(sde, eps_fn)
    return _solve(
        lambda t, x: drift(x, t),
        x_1,
        1.0,
        t_min,
        solver=solver,
        rtol=rtol,
        atol=atol,
    )


PROBES = ("rademacher", "gaussian")


def hutchinson_probe(rng, shape, kind: str):
    """v with E[v vᵀ] = I: Rademacher (±1) or standard Gaussian."""
    if kind == "rademacher":
        return jax.random.rademacher(rng, shape, jnp.float32)
    if kind == "gaussian":
        return jax.random.normal(rng, shape, jnp.float32)
    raise ValueError(f"probe {kind!r} is not one of: {', '.join(PROBES)}")


def log_likelihood(
    sde,
    eps_fn,
    x,
    rng,
    *,
    t_min: float,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    solver: str = "tsit5",
    probe: str = "rademacher",
):
    """log p_{t_min}(x) in nats through the probability-flow ODE (Song et al. 2021, eq. 39).

    Integrates [x, Δ] from t = t_min to 1 with dx/dt = f̃(x, t) (the probability-flow drift) and
    dΔ/dt = ∇·f̃(x, t), the divergence estimated by Hutchinson, vᵀ(∂f̃/∂x)v with one probe v
    per sample held fixed over the solve (one jvp per evaluation). Then
    log p_{t_min}(x) = log p_1(x_1) + Δ(1), with p_1 the SDE's prior.

    Args:
      x: [B, …] data points (already dequantised and scaled, for images).
    Returns:
      (log-likelihood [B] in nats, prior point x_1 [B, …], nfe).
    """
    drift = probability_flow_drift(sde, eps_fn)
    v = hutchinson_probe(rng, x.shape, probe)

    def vector_field(t, y):
        x_t, _ = y
        f, jv = jax.jvp(lambda z: drift(z, t), (x_t,), (v,))
        return f, sum_except_batch(v * jv)

    (x_1, delta), nfe = _solve(
        vector_field,
        (x, jnp.zeros(x.shape[:1], jnp.float32)),
        t_min,
        1.0,
        solver=solver,
        rtol=rtol,
        atol=atol,
    )
    return sde.prior_logp(x_1) + delta, x_1, nfe


def bits_per_dim(log_p, num_dims: int, *, pixel_scale: float = 1.0):
    """Bits per dimension of a density given in nats over `num_dims` dimensions.

    bpd = −log p(x)/(D·ln 2) + log₂(pixel_scale), where pixel_scale = dy/dx maps the model's
    variable x to the one the density is reported for. For images in [-1, 1] reported as
    dequantised pixel values y = 128·(x + 1) ∈ [0, 256), pixel_scale = 128 and the offset is
    7 bits: score_sde's `log2(d inverse_scaler/dx) + 8` with inverse_scaler x ↦ (x + 1)/2.
    """
    return -log_p / (num_dims * np.log(2.0)) + np.log2(pixel_scale)
