"""The denoising network that the discrete diffusion and the score-SDE algorithms share: its
construction from config.model, class conditioning (config.conditioning), the sampling inputs
it takes, and the guided network function every sampler calls.

Both v101jax/algorithms/diffusion.py (integer timesteps) and v101jax/algorithms/score_sde.py
(continuous times, its own input mapping through `network_fn(apply=…)`) build on these, so
conditioning and classifier-free guidance have one definition. Library code below the
algorithms: it imports models, nn, core and data, never v101jax.algorithms.
"""

import jax.numpy as jnp

from v101jax.core import optim, precision
from v101jax.core.errors import ConfigError
from v101jax.core.inputs import take_inputs
from v101jax.core.train_state import TrainState, sampling_params
from v101jax.data import num_classes
from v101jax.diffusion import guidance as classifier_free
from v101jax.models.mlp import MLPDenoiser
from v101jax.nn.unet import UNet


def num_sample_classes(config) -> int:
    """K for a class-conditional model (labels 0 … K−1, null label K), else 0."""
    return num_classes(config.data) if config.conditioning.class_conditional else 0


LABEL_PATHS = ("embedding", "cross_attention")


def check_conditioning(config):
    """Raises ConfigError for a p_uncond outside [0, 1) or an unknown label path."""
    if num_sample_classes(config) and not 0.0 <= config.conditioning.p_uncond < 1.0:
        raise ConfigError(
            f"conditioning.p_uncond={config.conditioning.p_uncond} must be in [0, 1)"
        )
    path = config.conditioning.get("label_path", "embedding")
    if path not in LABEL_PATHS:
        raise ConfigError(
            f"conditioning.label_path={path!r} is not one of: {', '.join(LABEL_PATHS)}"
        )


def make_model(config):
    """The denoiser named by config.model.name, built from explicit fields."""
    m = config.model
    dtype = precision.compute_dtype(m.dtype)
    k = num_sample_classes(config)
    # Labels through cross-attention (a one-token sequence) instead of the time embedding.
    label_tokens = (
        bool(k) and config.conditioning.get("label_path") == "cross_attention"
    )
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
            cross_attention=label_tokens,
            label_tokens=label_tokens,
        )
    if m.name == "mlp":
        return MLPDenoiser(
            hidden=m.hidden,
            num_layers=m.num_layers,
            num_classes=k,
            label_tokens=label_tokens,
            dtype=dtype,
        )
    raise ConfigError(f"model.name={m.name!r} is not one of: unet, mlp")


def init_denoiser(config, rng, example_batch, *, time_dtype) -> TrainState:
    """The network of config.model (class-conditional per config.conditioning) with its
    optimiser and EMA. time_dtype: int32 for the discrete algorithm's timestep indices,
    float32 for the score-SDE algorithm's continuous times."""
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
    (labels,) = take_inputs(config, inputs, "labels")
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
    guidance = config.sample.guidance if guidance is None else guidance
    if not k and (labels is not None or guidance):
        raise ConfigError(
            "labels and guidance (sample.guidance) need a class-conditional model "
            "(conditioning.class_conditional=True)"
        )
    params = sampling_params(state, config.sample.use_ema)
    if not k:
        return lambda x, t: apply(params, x, t, None)
    if labels is None:
        raise ValueError("a class-conditional model samples with labels")
    labels = jnp.asarray(labels, jnp.int32)
    return lambda x, t: classifier_free.guided_output(
        lambda x, t, y: apply(params, x, t, y), x, t, labels, guidance, null_label=k
    )
