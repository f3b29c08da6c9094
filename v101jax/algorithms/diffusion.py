"""Denoising diffusion (DDPM training; DDPM and DDIM sampling) under the algorithm contract.

Training minimises the simple loss ‖y − f_θ(x_t, t)‖² with t uniform over 0 … T−1 (DDPM
eq. 14), where the target y is ε (the paper's), x₀ or v (`config.diffusion.prediction`).
Sampling runs the sampler named by `config.sample.sampler` on the EMA parameters by default.

With `config.conditioning.class_conditional`, the network also takes the class label, dropped
to the null label with probability `conditioning.p_uncond` in training, and sampling applies
classifier-free guidance with scale `sample.guidance` (v101jax/diffusion/guidance.py).
"""

import functools

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.core import optim, precision
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState, gradient_step, sampling_params
from v101jax.data import num_classes, sample_shape
from v101jax.diffusion import guidance as cfg_guidance
from v101jax.diffusion import process, samplers
from v101jax.diffusion.schedules import schedule_from_config
from v101jax.models.mlp import MLPDenoiser
from v101jax.nn.unet import UNet


def num_sample_classes(config) -> int:
    """K for a class-conditional model (labels 0 … K−1, null label K), else 0."""
    return num_classes(config.data) if config.conditioning.class_conditional else 0


def check_conditioning(config):
    """Raises ConfigError for a p_uncond outside [0, 1)."""
    if num_sample_classes(config) and not 0.0 <= config.conditioning.p_uncond < 1.0:
        raise ConfigError(
            f"conditioning.p_uncond={config.conditioning.p_uncond} must be in [0, 1)"
        )


def make_model(config):
    """The denoiser named by config.model.name, built from explicit fields."""
    m = config.model
    dtype = precision.compute_dtype(m.dtype)
    k = num_sample_classes(config)
    if m.name == "unet":
        return UNet(
            channels=m.channels,
            channel_mult=tuple(m.channel_mult),
            num_res_blocks=m.num_res_blocks,
            attention_resolutions=tuple(m.attention_resolutions),
            num_heads=m.num_heads,
            num_groups=m.num_groups,
            dropout=m.dropout,
            num_classes=k,
            dtype=dtype,
            remat=m.remat,
        )
    if m.name == "mlp":
        return MLPDenoiser(
            hidden=m.hidden, num_layers=m.num_layers, num_classes=k, dtype=dtype
        )
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
    return init_denoiser(config, rng, example_batch, time_dtype=jnp.int32)


def init_denoiser(config, rng, example_batch, *, time_dtype) -> TrainState:
    """The network of config.model (class-conditional per config.conditioning) with its
    optimiser and EMA; shared with the score-SDE algorithm (continuous, float times)."""
    check_conditioning(config)
    model = make_model(config)
    x = example_batch["x"]
    labels = example_batch["label"] if num_sample_classes(config) else None
    variables = model.init(
        rng, x, jnp.zeros(x.shape[:1], time_dtype), labels, train=False
    )
    return TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        ema_decay=config.optim.ema_decay,
        ema_warmup=config.optim.ema_warmup,
    )


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
    labels = cfg_guidance.training_labels(label_key, batch, num_classes, p_uncond)
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
            **conditioning_options(config),
        ),
        batch=batch,
        rng=step_key,
    )
    return new_state, metrics


def conditioning_options(config) -> dict:
    """The label arguments of a loss function: num_classes and p_uncond."""
    k = num_sample_classes(config)
    return {"num_classes": k, "p_uncond": config.conditioning.p_uncond if k else 0.0}


def sampling_inputs(config, num_samples: int, held_out):
    """{"labels": 0, 1, …, K−1, 0, 1, …} of a class-conditional model; None otherwise."""
    del held_out  # labels only
    k = num_sample_classes(config)
    if not k:
        return None
    return {"labels": jnp.arange(num_samples, dtype=jnp.int32) % k}


def sample_labels(config, num_samples: int, inputs):
    """The labels `sample` conditions on: inputs["labels"] (default 0, 1, …, K−1, 0, … for a
    class-conditional model); a ConfigError for inputs the model does not take."""
    inputs = dict(inputs or {})
    labels = inputs.pop("labels", None)
    if inputs:
        raise ConfigError(
            f"{config.algorithm} samples take inputs['labels'] only, not {sorted(inputs)}"
        )
    if labels is None:
        labels = (sampling_inputs(config, num_samples, None) or {}).get("labels")
    return labels


def network_fn(config, state: TrainState, labels=None, guidance=None, apply=None):
    """(x, t) → the sampling parameters' network output (EMA unless config.sample.use_ema
    is off); for a class-conditional model, classifier-free guided towards `labels` with
    scale `guidance` (default config.sample.guidance). t may be fractional.

    apply(params, x, t, labels) → output calls the network (default: state.apply_fn as is;
    the score-SDE algorithm maps continuous time and scales inputs there). Shared by every
    sampler, discrete or continuous-time, so guidance has one definition.
    """
    if apply is None:

        def apply(params, x, t, y):
            return state.apply_fn({"params": params}, x, t, y, train=False)

    k = num_sample_classes(config)
    if not k and (labels is not None or guidance):
        raise ConfigError(
            "labels and guidance need a class-conditional model "
            "(conditioning.class_conditional=True)"
        )
    params = sampling_params(state, config.sample.use_ema)
    if not k:
        return lambda x, t: apply(params, x, t, None)
    guidance = config.sample.guidance if guidance is None else guidance
    if labels is None:
        raise ValueError("a class-conditional model samples with labels")
    labels = jnp.asarray(labels, jnp.int32)
    return lambda x, t: cfg_guidance.guided_output(
        lambda x, t, y: apply(params, x, t, y), x, t, labels, guidance, null_label=k
    )


def noise_predictor(config, state: TrainState, labels=None, guidance=None):
    """ε̂(x_t, t) of the sampling parameters, converted from the network's x₀ or v output
    when it predicts those, and guided as `network_fn` describes."""
    schedule = schedule_from_config(config.diffusion)
    network = network_fn(config, state, labels, guidance)

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
    s = config.sample
    labels = sample_labels(config, num_samples, inputs)
    schedule = schedule_from_config(config.diffusion)
    eps_fn = noise_predictor(config, state, labels)
    noise_key, loop_key = jax.random.split(rng)
    x_T = jax.random.normal(
        noise_key, (num_samples,) + sample_shape(config.data), jnp.float32
    )
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
    num_sample_classes=num_sample_classes,
    sampling_inputs=sampling_inputs,
)
