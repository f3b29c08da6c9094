"""Score-based generative modelling through SDEs (Song et al. 2021) under the algorithm contract.

Training is denoising score matching with the weighting λ(t) = σ(t)² (the paper's eq. 7 with
the "likelihood-free" weighting of its experiments). The network is a noise predictor:
s_θ(x, t) = −ε_θ(x, t)/σ(t), so for x_t = m(t)·x₀ + σ(t)·z

  λ(t)·‖s_θ(x_t, t) − ∇ log p_0t(x_t | x₀)‖² = ‖ε_θ(x_t, t) − z‖²,   t ~ U(t_min, 1),

with the time floor t_min = config.sde.train_eps (the config fields keep score_sde's names,
train_eps, sampling_eps and likelihood_eps; the functions call the floor `t_min`). The network
sees time as 999·t (score_sde's VP convention, used here for every SDE, so the sinusoidal
embedding spans the same range as DDPM's indices) and, when config.sde.scale_input is on, its
input divided by sqrt(1 + σ(t)²): the VE SDE's x_t has std up to σ_max, and the scaling keeps a
GroupNorm U-Net's input O(1).

Sampling (`sample`): Euler–Maruyama ("em"), predictor–corrector ("pc") or the probability-flow
ODE ("ode"), from v101jax/diffusion/sde_samplers.py, on the EMA parameters by default.
`log_likelihood` and `bits_per_dim` integrate the probability-flow ODE with its divergence.

With `config.conditioning.class_conditional` the network is class-conditional and samples use
classifier-free guidance, exactly as in v101jax/algorithms/diffusion.py: the network, its
conditioning and guidance are v101jax/diffusion/denoiser.py, shared by both algorithms.
"""

import functools
import math

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState, gradient_step
from v101jax.data import sample_shape
from v101jax.diffusion import denoiser, sde_samplers
from v101jax.diffusion import guidance as classifier_free
from v101jax.diffusion.alpha_sigma import batch_broadcast
from v101jax.diffusion.sde import sde_from_config

TIME_SCALE = 999.0  # network time input = 999·t (score_sde feeds VP models this way)
SAMPLERS = ("em", "pc", "ode")


def _check_config(config):
    sde_from_config(config.sde)  # raises on an unknown name
    if config.sample.sampler not in SAMPLERS:
        raise ConfigError(
            f"sample.sampler={config.sample.sampler!r} is not one of: {', '.join(SAMPLERS)}"
        )
    if config.sample.predictor not in sde_samplers.PREDICTORS:
        raise ConfigError(
            f"sample.predictor={config.sample.predictor!r} is not one of: "
            f"{', '.join(sde_samplers.PREDICTORS)}"
        )
    if config.sample.ode_solver not in sde_samplers.SOLVERS:
        raise ConfigError(
            f"sample.ode_solver={config.sample.ode_solver!r} is not one of: "
            f"{', '.join(sde_samplers.SOLVERS)}"
        )
    if config.sample.hutchinson not in sde_samplers.PROBES:
        raise ConfigError(
            f"sample.hutchinson={config.sample.hutchinson!r} is not one of: "
            f"{', '.join(sde_samplers.PROBES)}"
        )


def init(config, rng, example_batch) -> TrainState:
    """Builds the noise-prediction network, its optimiser and EMA from `config`."""
    _check_config(config)
    return denoiser.init_denoiser(config, rng, example_batch, time_dtype=jnp.float32)


def apply_eps(
    sde,
    apply_fn,
    params,
    x,
    t,
    labels=None,
    *,
    scale_input: bool,
    train=False,
    rngs=None,
):
    """ε_θ(x, t[, labels]) for continuous times t [B]: the one place that maps (x, t) to
    network inputs.

    The network gets 999·t and, with `scale_input`, x/sqrt(1 + σ(t)²) (O(1) for the VE SDE).
    """
    if scale_input:
        x = x / batch_broadcast(jnp.sqrt(1.0 + sde.std(t) ** 2), x)
    return apply_fn(
        {"params": params}, x, TIME_SCALE * t, labels, train=train, rngs=rngs
    )


def loss_fn(
    params,
    apply_fn,
    sde,
    batch,
    rng,
    *,
    train: bool,
    t_min: float,
    scale_input,
    num_classes: int = 0,
    p_uncond: float = 0.0,
):
    """σ²-weighted denoising score matching, E_{t, x₀, z} mean‖ε_θ(m(t)x₀ + σ(t)z, t) − z‖²
    over batch and dimensions, t ~ U(t_min, 1). num_classes > 0: conditioned on batch["label"]
    with label dropout at rate p_uncond (classifier-free guidance).

    Returns:
      (loss, aux) with aux = {"scalars": {...}}.
    """
    x0 = batch["x"]
    t_key, noise_key, dropout_key, label_key = jax.random.split(rng, 4)
    t = jax.random.uniform(t_key, x0.shape[:1], jnp.float32, t_min, 1.0)
    z = jax.random.normal(noise_key, x0.shape, x0.dtype)
    mean, std = sde.marginal(x0, t)
    x_t = mean + batch_broadcast(std, x0) * z
    output = apply_eps(
        sde,
        apply_fn,
        params,
        x_t,
        t,
        classifier_free.training_labels(label_key, batch, num_classes, p_uncond),
        scale_input=scale_input,
        train=train,
        rngs={"dropout": dropout_key},
    )
    loss = jnp.mean((output - z) ** 2)
    return loss, {"scalars": {"loss": loss}}


def train_step(config, state: TrainState, batch, rng):
    """One optimiser step. Keys: fold_in(rng, state.step)."""
    step_key = jax.random.fold_in(rng, state.step)
    new_state, metrics, _ = gradient_step(
        state,
        functools.partial(
            loss_fn,
            apply_fn=state.apply_fn,
            sde=sde_from_config(config.sde),
            train=True,
            t_min=config.sde.train_eps,
            scale_input=config.sde.scale_input,
            **denoiser.conditioning_options(config),
        ),
        batch=batch,
        rng=step_key,
    )
    return new_state, metrics


def eps_network(config, state: TrainState, labels=None, guidance=None):
    """ε̂(x, t) with t continuous [B], of the sampling parameters (EMA unless
    config.sample.use_ema is off): what every sampler and the likelihood consume. For a
    class-conditional model, guided towards `labels` with scale `guidance` (default
    config.sample.guidance) by `denoiser.network_fn`."""
    sde = sde_from_config(config.sde)

    def apply(params, x, t, y):
        return apply_eps(
            sde, state.apply_fn, params, x, t, y, scale_input=config.sde.scale_input
        )

    return denoiser.network_fn(config, state, labels, guidance, apply=apply)


def sample(config, state: TrainState, rng, num_samples: int, *, inputs=None):
    """Draws `num_samples` samples (images NHWC in about [-1, 1], or points [N, D]) with the
    sampler of config.sample: `sampler` ("em", "pc" or "ode"), the em/pc grid's `num_steps`
    (the ODE is adaptive), pc's `predictor`, `corrector_steps` and `snr`, the ODE's
    `ode_solver`, `ode_rtol` and `ode_atol`, and the guidance scale `guidance`.

    inputs: {"labels": int [num_samples]} classes of a class-conditional model (default 0,
    1, …, K−1, 0, …).
    """
    s = config.sample
    if s.sampler not in SAMPLERS:
        raise ConfigError(
            f"sample.sampler={s.sampler!r} is not one of: {', '.join(SAMPLERS)}"
        )
    sde = sde_from_config(config.sde)
    labels = denoiser.sample_labels(config, num_samples, inputs)
    eps_fn = eps_network(config, state, labels=labels)
    prior_key, loop_key = jax.random.split(rng)
    x_1 = sde.prior_sample(prior_key, (num_samples,) + sample_shape(config.data))
    if s.sampler == "em":
        return sde_samplers.em_sample(
            sde,
            eps_fn,
            x_1,
            loop_key,
            num_steps=s.num_steps,
            t_min=config.sde.sampling_eps,
        )
    if s.sampler == "pc":
        return sde_samplers.pc_sample(
            sde,
            eps_fn,
            x_1,
            loop_key,
            num_steps=s.num_steps,
            t_min=config.sde.sampling_eps,
            predictor=s.predictor,
            corrector_steps=s.corrector_steps,
            snr=s.snr,
        )
    x, _ = ode_sample(config, state, x_1, labels=labels)
    return x


def ode_sample(config, state: TrainState, x_1, labels=None, guidance=None):
    """Probability-flow ODE from the prior points x_1: (samples, number of network calls)."""
    return sde_samplers.ode_sample(
        sde_from_config(config.sde),
        eps_network(config, state, labels, guidance),
        x_1,
        t_min=config.sde.sampling_eps,
        rtol=config.sample.ode_rtol,
        atol=config.sample.ode_atol,
        solver=config.sample.ode_solver,
    )


def log_likelihood(config, state: TrainState, rng, batch):
    """log p(batch["x"]) in nats per example [B] through the probability-flow ODE at
    t = config.sde.likelihood_eps (Hutchinson probes from config.sample.hutchinson); for a
    class-conditional model, log p(x | batch["label"]) of the unguided conditional network.

    Returns:
      (log-likelihood [B], nfe).
    """
    labels = batch["label"] if denoiser.num_sample_classes(config) else None
    log_p, _, nfe = sde_samplers.log_likelihood(
        sde_from_config(config.sde),
        eps_network(config, state, labels, guidance=0.0),
        batch["x"],
        rng,
        t_min=config.sde.likelihood_eps,
        rtol=config.sample.ode_rtol,
        atol=config.sample.ode_atol,
        solver=config.sample.ode_solver,
        probe=config.sample.hutchinson,
    )
    return log_p, nfe


def dequantize(rng, x):
    """Uniform dequantisation of 8-bit images: x ∈ [-1, 1] on the grid 2k/255 − 1 becomes
    2(k + u)/256 − 1 with u ~ U[0, 1), as score_sde's bits/dim evaluation does."""
    k = jnp.round((x + 1.0) * 127.5)
    u = jax.random.uniform(rng, x.shape, x.dtype)
    return 2.0 * (k + u) / 256.0 - 1.0


def bits_per_dim(config, state: TrainState, rng, batch):
    """Negative log-likelihood in bits/dim per example [B], and the nfe.

    Images (8-bit, scaled to [-1, 1]) follow score_sde's convention: uniformly dequantised
    (`dequantize`), and reported for the pixel value y = 128·(x + 1) ∈ [0, 256), i.e.
    bpd = −log p(x)/(D·ln 2) + 7. Points (toy 2-D data) are taken as they are: −log p/(D·ln 2).
    """
    shape = sample_shape(config.data)
    x = batch["x"]
    deq_key, probe_key = jax.random.split(rng)
    is_image = len(shape) == 3
    if is_image:
        x = dequantize(deq_key, x)
    log_p, nfe = log_likelihood(config, state, probe_key, dict(batch, x=x))
    bpd = sde_samplers.bits_per_dim(
        log_p, math.prod(shape), pixel_scale=128.0 if is_image else 1.0
    )
    return bpd, nfe


ALGORITHM = Algorithm(
    name="score_sde",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=(
        "sampler",
        "num_steps",
        "guidance",
        "predictor",
        "corrector_steps",
        "snr",
        "ode_solver",
        "ode_rtol",
        "ode_atol",
    ),
    num_sample_classes=denoiser.num_sample_classes,
    sampling_inputs=denoiser.sampling_inputs,
)
