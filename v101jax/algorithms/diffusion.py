"""Denoising diffusion (DDPM training; DDPM and DDIM sampling) under the algorithm contract.

Training minimises the simple loss ‖y − f_θ(x_t, t)‖² with t uniform over 0 … T−1 (DDPM
eq. 14), where the target y is ε (the paper's), x₀ or v (`config.diffusion.prediction`).
Sampling runs the sampler named by `config.sample.sampler` on the EMA parameters by default.

With `config.conditioning.class_conditional`, the network also takes the class label, dropped
to the null label with probability `conditioning.p_uncond` in training, and sampling applies
classifier-free guidance with scale `sample.guidance` (v101jax/diffusion/guidance.py). The
network, its conditioning and the guided network function are v101jax/diffusion/denoiser.py,
shared with the score-SDE algorithm.
"""

import functools

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState, gradient_step
from v101jax.data import sample_shape
from v101jax.diffusion import denoiser, process, samplers
from v101jax.diffusion import guidance as classifier_free
from v101jax.diffusion.schedules import schedule_from_config


def init(config, rng, example_batch) -> TrainState:
    """Builds the denoiser, its optimiser and EMA from `config`."""
    if config.diffusion.prediction not in process.PREDICTIONS:
        raise ConfigError(
            f"diffusion.prediction={config.diffusion.prediction!r} is not one of: "
            f"{', '.join(process.PREDICTIONS)}"
        )
    if config.sample.timestep_spacing not in samplers.SPACINGS:
        raise ConfigError(
            f"sample.timestep_spacing={config.sample.timestep_spacing!r} is not one of: "
            f"{', '.join(samplers.SPACINGS)}"
        )
    return denoiser.init_denoiser(config, rng, example_batch, time_dtype=jnp.int32)


def loss_fn(
    params,
    apply_fn,
    schedule,
    batch,
    rng,
    *,
    train: bool,
    prediction="eps",
    num_classes: int = 0,
    p_uncond: float = 0.0,
):
    """Simple DDPM loss: mean over batch and pixels of (y − f_θ(sqrt(ᾱ_t)x₀ + sqrt(1−ᾱ_t)ε, t))²,
    where the target y is ε, x₀ or v per `prediction` (process.py gives the implied weights).

    num_classes > 0: the network is conditioned on batch["label"], each dropped to the null
    label (num_classes) with probability p_uncond, for classifier-free guidance.

    Returns:
      (loss, aux) with aux = {"scalars": {...}}.
    """
    x0 = batch["x"]
    t_key, noise_key, dropout_key, label_key = jax.random.split(rng, 4)
    t = jax.random.randint(t_key, x0.shape[:1], 0, schedule.num_timesteps)
    noise = jax.random.normal(noise_key, x0.shape, x0.dtype)
    x_t = process.q_sample(schedule, x0, t, noise)
    labels = classifier_free.training_labels(label_key, batch, num_classes, p_uncond)
    output = apply_fn(
        {"params": params}, x_t, t, labels, train=train, rngs={"dropout": dropout_key}
    )
    target = process.prediction_target(schedule, prediction, x0, t, noise)
    loss = jnp.mean((output - target) ** 2)
    return loss, {"scalars": {"loss": loss}}


def train_step(config, state: TrainState, batch, rng):
    """One optimiser step. Keys: fold_in(rng, state.step)."""
    schedule = schedule_from_config(config.diffusion)
    step_key = jax.random.fold_in(rng, state.step)
    new_state, metrics, _ = gradient_step(
        state,
        functools.partial(
            loss_fn,
            apply_fn=state.apply_fn,
            schedule=schedule,
            train=True,
            prediction=config.diffusion.prediction,
            **denoiser.conditioning_options(config),
        ),
        batch=batch,
        rng=step_key,
    )
    return new_state, metrics


def noise_predictor(config, state: TrainState, labels=None, guidance=None):
    """ε̂(x_t, t) of the sampling parameters, converted from the network's x₀ or v output
    when it predicts those, and guided as `denoiser.network_fn` describes."""
    schedule = schedule_from_config(config.diffusion)
    network = denoiser.network_fn(config, state, labels, guidance)

    def eps_fn(x, t):
        return process.eps_from_prediction(
            schedule, config.diffusion.prediction, x, t, network(x, t)
        )

    return eps_fn


def sample(config, state: TrainState, rng, num_samples: int, *, inputs=None):
    """Draws `num_samples` samples in [-1, 1] (images NHWC, or points [N, D]) with the sampler
    of config.sample: `sampler` ("ddpm" or "ddim"), DDIM's `num_steps`, `eta` and
    `timestep_spacing`, `clip_x0`, and the guidance scale `guidance`.

    inputs: {"labels": int [num_samples]} classes of a class-conditional model (default 0,
    1, …, K−1, 0, …).
    """
    return sample_of_shape(
        config, state, rng, (num_samples,) + sample_shape(config.data), inputs=inputs
    )


def sample_of_shape(config, state: TrainState, rng, shape, *, inputs=None):
    """`sample` for arrays of `shape` [N, ...] (latent diffusion's latents)."""
    s = config.sample
    labels = denoiser.sample_labels(config, shape[0], inputs)
    schedule = schedule_from_config(config.diffusion)
    eps_fn = noise_predictor(config, state, labels)
    noise_key, loop_key = jax.random.split(rng)
    x_T = jax.random.normal(noise_key, shape, jnp.float32)
    if s.sampler not in samplers.SAMPLERS:
        raise ConfigError(
            f"sample.sampler={s.sampler!r} is not one of: {', '.join(samplers.SAMPLERS)}"
        )
    update, plan = samplers.sampler_steps(
        s.sampler,
        eps_fn,
        schedule,
        loop_key,
        num_steps=s.num_steps,
        eta=s.eta,
        clip_x0=s.clip_x0,
        spacing=s.timestep_spacing,
    )
    return samplers.scan_updates(update, x_T, plan)


ALGORITHM = Algorithm(
    name="diffusion",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=(
        "sampler",
        "num_steps",
        "eta",
        "guidance",
        "clip_x0",
        "timestep_spacing",
    ),
    num_sample_classes=denoiser.num_sample_classes,
    sampling_inputs=denoiser.sampling_inputs,
)
