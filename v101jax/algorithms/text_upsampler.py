"""GigaGAN's text-conditioned upsampler (Kang et al. 2023, §3.5), sized for small images.

G(z, t, x_LR) lifts a low-resolution image x_LR to model.upsample_factor× its size, reading
the caption t through its style and cross-attention (v101jax.models.gigagan.TextUpsampler:
an asymmetric U-Net whose upsampling half is the GigaGAN generator's synthesis). It trains
on real images: x_LR is the image 2×-average-pooled to the source size (the filter of the
discriminator's pyramid), and the target the image itself. The losses are text_gan's with
the upsampler's network:

  D's loss   matching-aware over the multi-scale pyramid of the output (real image with its
             caption real; real image with a mismatched caption and G(z, t, x_LR) fake) + R1
  G's loss   the adversarial loss + gan.reconstruction_weight × ‖G(z, t, x_LR) − x‖₁
             (the paper uses LPIPS; no trained LPIPS network loads offline, so pixel L1)

As in the paper, it is a second stage for a base generator: with upsampler.base_workdir set to
a finished gigagan run (configs/gigagan.py), the base run's generator is copied into this
run's state (frozen), and `sample` draws from captions alone: the base generator's
pyramid level of the source size (which its multi-scale discriminator trained to look like
real images pooled to that size), then the upsampler. config.sample.sampler picks the last
step: "upsampler" (this network), "bicubic" (bicubic upsampling of the same base samples, the
baseline) or "base" (the base generator's own full-size level), so that
`experiments.evaluate --sampler=…` measures what the upsampler adds.

sample(…, inputs={"tokens": [N, L], "source": [N, s, s, C] (optional with a base run)}).
"""

import jax
import jax.numpy as jnp

from v101jax.algorithms import first_stage, text_gan
from v101jax.algorithms.contract import Algorithm, FirstStage
from v101jax.core.errors import ConfigError
from v101jax.core.inputs import take_inputs
from v101jax.core.train_state import MultiState, sampling_params
from v101jax.data import example_batch as data_example_batch
from v101jax.data import sample_shape
from v101jax.models import superres

SAMPLERS = ("upsampler", "bicubic", "base")
BASE_HINT = "a gigagan run (configs/gigagan.py)"


def validate(config):
    text_gan.validate(config)
    if config.sample.sampler not in SAMPLERS:
        raise ConfigError(
            f"sample.sampler={config.sample.sampler!r} is not one of: {', '.join(SAMPLERS)}"
        )


def _source_size(config) -> int:
    return sample_shape(config.data)[0] // config.model.upsample_factor


def resolve_base(config):
    """`config` with upsampler.base_workdir's resolved config in upsampler.base (nothing to
    do when the workdir is empty) and the base run's vocabulary as this run's, so that one
    tokenization feeds both generators."""
    if not config.upsampler.base_workdir:
        return config
    config = first_stage.resolve(config, "upsampler", "base", ("text_gan",), BASE_HINT)
    with config.unlocked():
        config.upsampler.base = text_gan.resolve_config(config.upsampler.base)
    base = config.upsampler.base
    size = sample_shape(config.data)[0]
    levels = [size >> i for i in range(base.model.pyramid_levels)]
    if base.model.name != "gigagan" or _source_size(config) not in levels:
        raise ConfigError(
            f"upsampler.base_workdir={config.upsampler.base_workdir!r}: the base must be a "
            f"gigagan run whose pyramid has {_source_size(config)} px images (its "
            f"model.name is {base.model.name!r}, its levels {levels} px)"
        )
    if base.data.caption_length != config.data.caption_length:
        raise ConfigError(
            f"data.caption_length={config.data.caption_length} but the base run's is "
            f"{base.data.caption_length}"
        )
    vocabulary = tuple(base.text.vocabulary)
    if config.text.vocabulary and tuple(config.text.vocabulary) != vocabulary:
        raise ConfigError(
            "text.vocabulary differs from the base run's: leave it empty to use the base's"
        )
    with config.unlocked():
        config.text.vocabulary = vocabulary
    return config


def _base_generator(config):
    base = first_stage.resolved(config, "upsampler", "base")
    return base, text_gan.make_networks(base)[0]


def load_base(config, state: MultiState) -> MultiState:
    """The fresh `state` with the base run's generator weights (its EMA ones unless the
    base's sample.use_ema is off) from its newest checkpoint."""
    if not config.upsampler.base_workdir:
        return state
    base, _ = _base_generator(config)
    trained = first_stage.restore(
        base, config.upsampler.base_workdir, text_gan.init_state
    )
    gen = trained["gen"]
    return state.replace(
        frozen={
            "base_generator": sampling_params(gen, base.sample.use_ema),
            "base_generator_state": gen.model_state,
        }
    )


def init(config, rng, example_batch) -> MultiState:
    """text_gan's G (the upsampler) and D; with a base run, its generator's parameters and
    statistics (w's average) as frozen entries (freshly initialised until `load_base`)."""
    validate(config)
    state = text_gan.init(config, rng, example_batch)
    if not config.upsampler.base_workdir:
        return state
    base, _ = _base_generator(config)
    base_state = text_gan.init_state(
        base, jax.random.fold_in(rng, 1), data_example_batch(base.data, 1)
    )
    gen = base_state["gen"]
    return state.replace(
        frozen={"base_generator": gen.params, "base_generator_state": gen.model_state}
    )


def train_step(config, state: MultiState, batch, rng):
    """text_gan's D then G update; the frozen base generator is not read."""
    return text_gan.train_step(config, state, batch, rng)


def base_samples(config, state: MultiState, tokens, rng):
    """(the base generator's images of the source size, its full-size images) for tokens."""
    if "base_generator" not in state.frozen:
        raise ConfigError(
            "text_upsampler needs inputs['source'] (low-resolution images) when it has no "
            "base run: set upsampler.base_workdir to a gigagan run when training starts"
        )
    _, module = _base_generator(config)
    z_key, noise_key = jax.random.split(rng)
    z = jax.random.normal(
        z_key, (tokens.shape[0], config.upsampler.base.model.latent_dim)
    )
    pyramid = module.apply(
        {"params": state["base_generator"], **state["base_generator_state"]},
        z,
        tokens,
        train=False,
        rngs={"noise": noise_key},
    )
    size = _source_size(config)
    (low,) = [level for level in pyramid if level.shape[1] == size]
    return low, pyramid[-1]


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """Images of the full size for inputs["tokens"] [num_samples, L]: config.sample.sampler
    applied to inputs["source"] (low-resolution images [num_samples, s, s, C]) or, without
    one, to the base run's samples of the same captions."""
    tokens, source, _ = take_inputs(config, inputs, "tokens", "source", "labels")
    length = config.data.caption_length
    if tokens is None or tokens.shape != (num_samples, length):
        got = "none" if tokens is None else f"shape {tuple(tokens.shape)}"
        raise ConfigError(
            f"text_upsampler draws from captions: sample needs inputs['tokens'] int32 "
            f"[{num_samples}, {length}] (got {got}; prompt_inputs tokenizes prompts)"
        )
    tokens = jnp.asarray(tokens, jnp.int32)
    sampler = config.sample.sampler
    base_key, z_key, noise_key = jax.random.split(rng, 3)
    if source is None or sampler == "base":
        low, full = base_samples(config, state, tokens, base_key)
        if sampler == "base":
            return full
        source = low
    size, _, channels = sample_shape(config.data)
    low = size // config.model.upsample_factor
    expected = (num_samples, low, low, channels)
    if tuple(source.shape) != expected:
        raise ConfigError(
            f"inputs['source'] has shape {tuple(source.shape)}; expected {list(expected)} "
            f"(1/model.upsample_factor of the {size} px images)"
        )
    source = jnp.asarray(source, jnp.float32)
    if sampler == "bicubic":
        return superres.bicubic_upscale(source, config.model.upsample_factor)
    gen = state["gen"]
    z = jax.random.normal(z_key, (num_samples, config.model.latent_dim))
    pyramid = gen.apply_fn(
        {"params": sampling_params(gen, config.sample.use_ema), **gen.model_state},
        z,
        tokens,
        source,
        train=False,
        rngs={"noise": noise_key},
    )
    return pyramid[-1]


def sampling_inputs(config, num_samples: int, held_out):
    """The first held-out examples' first-template captions and classes; without a base
    run also their images pooled to the source size (grids then show real images lifted)."""
    examples = held_out(num_samples)
    inputs = {
        "tokens": jnp.asarray(examples["captions"][:, 0]),
        "labels": jnp.asarray(examples["label"]),
    }
    if not config.upsampler.base_workdir:
        inputs["source"] = text_gan.low_resolution(
            config, jnp.asarray(examples["x"], jnp.float32)
        )
    return inputs


def evaluate(config, state: MultiState, batch, rng):
    """On held-out real images pooled to the source size: PSNR/SSIM on Y of the upsampler
    (with the batch's own first captions) and of bicubic upsampling, as the super-resolution
    algorithms report them (super_resolution.quality_metrics)."""
    from v101jax.algorithms import super_resolution

    source = text_gan.low_resolution(config, batch["x"])
    inputs = {"tokens": batch["captions"][:, 0], "source": source}
    config = config.copy_and_resolve_references()
    config.sample.sampler = "upsampler"  # the upsampler itself, whatever sampling asks
    images = sample(config, state, rng, source.shape[0], inputs=inputs)
    return super_resolution.quality_metrics(
        jnp.clip(images, -1.0, 1.0),
        {"source": source, "target": batch["x"]},
        config.model.upsample_factor,
    )


ALGORITHM = Algorithm(
    name="text_upsampler",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=("sampler",),
    sampling_inputs=sampling_inputs,
    evaluate=evaluate,
    first_stage=FirstStage(resolve=resolve_base, load=load_base, required=False),
    resolve_config=text_gan.resolve_config,
    prompt_inputs=text_gan.prompt_inputs,
)
