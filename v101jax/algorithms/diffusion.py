"""Denoising diffusion (DDPM training; DDPM and DDIM sampling) under the algorithm contract.

Training minimises the simple loss ‖y − f_θ(x_t, t)‖² with t uniform over 0 … T−1 (DDPM
eq. 14), where the target y is ε (the paper's), x₀ or v (`config.diffusion.prediction`).
Sampling runs the sampler named by `config.sample.sampler` (or the `sampler=` argument) on
the EMA parameters by default.
"""

import functools

import jax
import jax.numpy as jnp
import optax

from v101jax.core import optim, precision
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState
from v101jax.data import sample_shape
from v101jax.diffusion import process, samplers
from v101jax.diffusion.schedules import schedule_from_config
from v101jax.models.mlp import MLPDenoiser
from v101jax.nn.unet import UNet


def make_model(config):
    """The denoiser named by config.model.name, built from explicit fields."""
    m = config.model
    dtype = precision.compute_dtype(m.dtype)
    if m.name == "unet":
        return UNet(
            channels=m.channels,
            channel_mult=tuple(m.channel_mult),
            num_res_blocks=m.num_res_blocks,
            attention_resolutions=tuple(m.attention_resolutions),
            num_heads=m.num_heads,
            num_groups=m.num_groups,
            dropout=m.dropout,
            dtype=dtype,
            remat=m.remat,
        )
    if m.name == "mlp":
        return MLPDenoiser(hidden=m.hidden, num_layers=m.num_layers, dtype=dtype)
    raise ConfigError(f"model.name={m.name!r} is not one of: unet, mlp")


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
    model = make_model(config)
    x = example_batch["x"]
    variables = model.init(rng, x, jnp.zeros(x.shape[:1], jnp.int32), train=False)
    return TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        ema_decay=config.optim.ema_decay,
        ema_warmup=config.optim.ema_warmup,
    )


def loss_fn(params, apply_fn, schedule, batch, rng, *, train: bool, prediction="eps"):
    """Simple DDPM loss: mean over batch and pixels of (y − f_θ(sqrt(ᾱ_t)x₀ + sqrt(1−ᾱ_t)ε, t))²,
    where the target y is ε, x₀ or v per `prediction` (process.py gives the implied weights).

    Returns:
      (loss, aux) with aux = {"scalars": {...}}.
    """
    x0 = batch["x"]
    t_key, noise_key, dropout_key = jax.random.split(rng, 3)
    t = jax.random.randint(t_key, x0.shape[:1], 0, schedule.num_timesteps)
    noise = jax.random.normal(noise_key, x0.shape, x0.dtype)
    x_t = process.q_sample(schedule, x0, t, noise)
    output = apply_fn(
        {"params": params}, x_t, t, train=train, rngs={"dropout": dropout_key}
    )
    target = process.prediction_target(schedule, prediction, x0, t, noise)
    loss = jnp.mean((output - target) ** 2)
    return loss, {"scalars": {"loss": loss}}


def train_step(config, state: TrainState, batch, rng):
    """One optimiser step. Keys: fold_in(rng, state.step)."""
    schedule = schedule_from_config(config.diffusion)
    step_key = jax.random.fold_in(rng, state.step)
    grad_fn = jax.value_and_grad(
        functools.partial(
            loss_fn,
            apply_fn=state.apply_fn,
            schedule=schedule,
            train=True,
            prediction=config.diffusion.prediction,
        ),
        has_aux=True,
    )
    (_, aux), grads = grad_fn(state.params, batch=batch, rng=step_key)
    new_state = state.apply_gradients(grads)
    metrics = dict(aux["scalars"])
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["learning_rate"] = optim.current_learning_rate(new_state.opt_state)
    return new_state, metrics


def noise_predictor(config, state: TrainState):
    """ε̂(x_t, t) of the sampling parameters (EMA unless config.sample.use_ema is off),
    converted from the network's x₀ or v output when it predicts those."""
    params = state.ema_params if config.sample.use_ema else state.params
    schedule = schedule_from_config(config.diffusion)

    def eps_fn(x, t):
        output = state.apply_fn({"params": params}, x, t, train=False)
        return process.eps_from_prediction(
            schedule, config.diffusion.prediction, x, t, output
        )

    return eps_fn


def sample(
    config,
    state: TrainState,
    rng,
    num_samples: int,
    *,
    sampler: str | None = None,
    num_steps: int | None = None,
    eta: float | None = None,
):
    """Draws `num_samples` samples in [-1, 1] (images NHWC, or points [N, D]).

    Args:
      sampler: "ddpm" or "ddim" (default config.sample.sampler).
      num_steps: DDIM steps (default config.sample.num_steps); DDPM always runs all T.
      eta: DDIM η (default config.sample.eta).
    """
    sampler = sampler or config.sample.sampler
    num_steps = num_steps or config.sample.num_steps
    eta = config.sample.eta if eta is None else eta
    schedule = schedule_from_config(config.diffusion)
    eps_fn = noise_predictor(config, state)
    noise_key, loop_key = jax.random.split(rng)
    x_T = jax.random.normal(
        noise_key, (num_samples,) + sample_shape(config.data), jnp.float32
    )
    if sampler not in samplers.SAMPLERS:
        raise ConfigError(
            f"sample.sampler={sampler!r} is not one of: {', '.join(samplers.SAMPLERS)}"
        )
    update, plan = samplers.sampler_steps(
        sampler,
        eps_fn,
        schedule,
        loop_key,
        num_steps=num_steps,
        eta=eta,
        clip_x0=config.sample.clip_x0,
        spacing=config.sample.timestep_spacing,
    )
    return samplers.scan_updates(update, x_T, plan)
