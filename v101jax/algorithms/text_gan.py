"""Text-conditional GAN: GAN-CLS with GAN-INT (Reed et al. 2016) under the contract.

Data: a captioned source (data.captions="templates"; v101jax.data.captions), whose batches
hold every template's caption of each example ("captions" [B, K, L]) and what they say
("description" [B]). Each step draws one template per example.

  D's loss   matching-aware (algorithm 1): a real image with its caption is real; a real
             image with a mismatched caption (another example's, of another description, so
             never a rewording of its own) and a generated image with the right caption are
             fake, weighted gan.wrong_weight and 1 − gan.wrong_weight (½, ½ in the paper);
             + R1 (gan.r1_gamma) on real images with their captions
  G's loss   the adversarial loss on G(z, t) against D(·, t); with gan.interpolation_weight
             λ > 0 (GAN-INT, §4.3), + λ × the same loss on images made from the
             interpolated embedding β·φ(t₁) + (1 − β)·φ(t₂) of two captions of different
             descriptions (β = gan.interpolation_beta), which D judges with the same
             interpolation. D never trains on those images: they have no real counterpart.

Networks: config.model's MLP (2-D data) or DCGAN bodies (v101jax.models.gan), each with its
own TextEncoder (config.text; v101jax.models.text_gan). The run's vocabulary is filled into
text.vocabulary from the data before config.json is written (`resolve_config`), so the
sample command tokenizes prompts with the run's own words.

sample(…, inputs={"tokens": int32 [N, L]}): one sample per caption; inputs["labels"] may ride
along (the class each caption names, for class accuracy) and is not read.
"""

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.algorithms.gan import apply_network
from v101jax.core import precision
from v101jax.core.errors import ConfigError, require_non_negative
from v101jax.core.inputs import take_inputs
from v101jax.core.train_state import MultiState, gradient_step, sampling_params
from v101jax.data import pipeline, sample_shape
from v101jax.data.pipeline import TOY_SOURCES
from v101jax.data.tokenizer import Tokenizer
from v101jax.gan import losses, pair
from v101jax.models import gan as nets
from v101jax.models.text_gan import (
    TextConditionalDiscriminator,
    TextConditionalGenerator,
)
from v101jax.nn.text import TextEncoder


def resolve_config(config):
    """`config` with text.vocabulary set to the data's caption vocabulary (when empty)."""
    if config.text.vocabulary:
        return config
    config = config.copy_and_resolve_references()
    with config.unlocked():
        config.text.vocabulary = tuple(pipeline.caption_vocabulary(config.data))
    return config


def tokenizer(config) -> Tokenizer:
    """The run's tokenizer: its saved vocabulary, data.caption_length tokens."""
    return Tokenizer(config.text.vocabulary, config.data.caption_length)


def validate(config):
    g, t = config.gan, config.text
    if not pipeline.has_captions(config.data):
        raise ConfigError(
            "text_gan trains on captions: set data.captions='templates' (data.source in "
            f"{', '.join(pipeline.CAPTIONED_SOURCES)})"
        )
    if not t.vocabulary:
        raise ConfigError(
            "text.vocabulary is empty: the training loop fills it from the data "
            "(text_gan.resolve_config)"
        )
    if g.loss not in losses.LOSSES:
        raise ConfigError(
            f"gan.loss={g.loss!r} is not one of: {', '.join(losses.LOSSES)}"
        )
    if not 0.0 <= g.wrong_weight <= 1.0:
        raise ConfigError(f"gan.wrong_weight={g.wrong_weight} must be in [0, 1]")
    if not 0.0 <= g.interpolation_beta <= 1.0:
        raise ConfigError(
            f"gan.interpolation_beta={g.interpolation_beta} must be in [0, 1]"
        )
    require_non_negative(config, "gan", ("r1_gamma", "interpolation_weight"))
    if t.width % t.num_heads:
        raise ConfigError(
            f"text.width={t.width} must be a multiple of text.num_heads={t.num_heads}"
        )
    if config.model.name == "dcgan" and config.data.source in TOY_SOURCES:
        raise ConfigError(
            f"model.name='dcgan' needs image data, not data.source={config.data.source!r}"
        )


def make_networks(config):
    """(generator, discriminator) modules from explicit config fields."""
    m, t = config.model, config.text
    dtype = precision.compute_dtype(m.dtype)

    def encoder():
        return TextEncoder(
            vocab_size=len(t.vocabulary),
            width=t.width,
            num_layers=t.num_layers,
            num_heads=t.num_heads,
            max_length=config.data.caption_length,
            dtype=dtype,
        )

    shared = {"conditioning": "vector", "dtype": dtype}
    if m.name == "mlp":
        gen = nets.MLPGenerator(
            out_dim=sample_shape(config.data)[-1],
            hidden=m.hidden,
            num_layers=m.num_layers,
            **shared,
        )
        disc = nets.MLPDiscriminator(
            hidden=m.hidden,
            num_layers=m.num_layers,
            spectral_norm=m.spectral_norm,
            **shared,
        )
    elif m.name == "dcgan":
        size, _, channels = sample_shape(config.data)
        gen = nets.DCGANGenerator(
            image_size=size,
            out_channels=channels,
            channels=m.channels,
            batch_stats_at_sampling=m.batch_stats_at_sampling,
            **shared,
        )
        disc = nets.DCGANDiscriminator(
            channels=m.channels, spectral_norm=m.spectral_norm, **shared
        )
    else:
        raise ConfigError(f"model.name={m.name!r} is not one of: mlp, dcgan")
    return (
        TextConditionalGenerator(encoder(), gen, code_dim=t.code_dim, dtype=dtype),
        TextConditionalDiscriminator(encoder(), disc, code_dim=t.code_dim, dtype=dtype),
    )


def init(config, rng, example_batch) -> MultiState:
    """Both networks (each with its text encoder), their optimisers and G's EMA."""
    validate(config)
    gen_model, disc_model = make_networks(config)
    g_key, d_key = jax.random.split(rng)
    x = example_batch["x"]
    tokens = example_batch["captions"][:, 0]
    z = jnp.zeros((x.shape[0], config.model.latent_dim), jnp.float32)
    g_vars = gen_model.init(g_key, z, tokens, train=False)
    d_vars = disc_model.init(d_key, x, tokens, train=False)
    return pair.generator_and_discriminator(
        config, gen_model, g_vars, disc_model, d_vars
    )


def pick_captions(captions, rng):
    """One template's caption per example: captions [B, K, L] → [B, L]."""
    k = jax.random.randint(rng, (captions.shape[0],), 0, captions.shape[1])
    return jnp.take_along_axis(captions, k[:, None, None], axis=1)[:, 0]


def mismatched_indices(description, rng):
    """(j [B], valid [B]): for each example i a uniformly drawn example j of another
    description (description[j] ≠ description[i]); valid is False where the batch has none
    (then j is meaningless and the caller must not use it)."""
    b = description.shape[0]
    other = description[None, :] != description[:, None]
    scores = jnp.where(other, jax.random.uniform(rng, (b, b)), -1.0)
    j = jnp.argmax(scores, axis=1)
    return j, jnp.any(other, axis=1)


def _batch_captions(batch, rng):
    """(right captions [B, L], mismatched captions [B, L], valid [B]) of a batch."""
    right_key, wrong_key, template_key = jax.random.split(rng, 3)
    right = pick_captions(batch["captions"], right_key)
    j, valid = mismatched_indices(batch["description"], wrong_key)
    wrong = pick_captions(batch["captions"][j], template_key)
    return right, wrong, valid


def _latents(config, rng, n):
    return jax.random.normal(rng, (n, config.model.latent_dim), jnp.float32)


def discriminator_step(config, gen, disc, batch, rng):
    """One matching-aware D update (+ R1)."""
    g = config.gan
    real = batch["x"]
    b = real.shape[0]
    caption_key, z_key = jax.random.split(rng)
    right, wrong, valid = _batch_captions(batch, caption_key)
    fake, _ = apply_network(
        gen, gen.params, _latents(config, z_key, b), right, train=True
    )
    fake = jax.lax.stop_gradient(fake)

    def loss_fn(params):
        # The three pairs in one call: D has no batch statistics to mix.
        x = jnp.concatenate([real, real, fake])
        tokens = jnp.concatenate([right, wrong, right])
        (scores, _), new_state = apply_network(disc, params, x, tokens, train=True)
        real_right, real_wrong, fake_right = (
            scores[:b],
            scores[b : 2 * b],
            scores[2 * b :],
        )
        loss = losses.matching_aware_discriminator_loss(
            g.loss,
            real_right,
            real_wrong,
            fake_right,
            wrong_weight=g.wrong_weight,
            wrong_valid=valid,
        )
        scalars = {
            "d_adversarial_loss": loss,
            "d_real_right": jnp.mean(real_right),
            "d_real_wrong": jnp.mean(real_wrong, where=valid),
            "d_fake": jnp.mean(fake_right),
            # How often D ranks an image's own caption above a mismatched one.
            "d_match_accuracy": jnp.mean(real_right > real_wrong, where=valid),
        }
        if g.r1_gamma > 0:

            def score_fn(v):
                return apply_network(disc, params, v, right, train=False)[0][0]

            r1 = losses.r1_penalty(score_fn, real)
            loss = loss + 0.5 * g.r1_gamma * r1
            scalars["r1_penalty"] = r1
        scalars["d_loss"] = loss
        return loss, {"scalars": scalars, "model_state": new_state}

    disc, metrics, _ = gradient_step(disc, loss_fn)
    return disc, metrics


def generator_step(config, gen, disc, batch, rng):
    """One G update on G(z, t), plus GAN-INT's interpolated captions when asked."""
    g = config.gan
    b = batch["x"].shape[0]
    caption_key, z_key = jax.random.split(rng)
    right, _, valid = _batch_captions(batch, caption_key)
    tokens, mixing = right, {}
    interpolate = g.interpolation_weight > 0
    if interpolate:
        # G makes 2B images in one call (one set of batch statistics): B from the right
        # captions (β = 1), B from interpolations of those with other descriptions'.
        j, _ = mismatched_indices(
            batch["description"], jax.random.fold_in(caption_key, 1)
        )
        tokens = jnp.concatenate([right, right])
        mixing = {
            "mix_tokens": jnp.concatenate([right, right[j]]),
            "beta": jnp.concatenate(
                [jnp.ones((b,)), jnp.full((b,), g.interpolation_beta)]
            ),
        }
    z = _latents(config, z_key, tokens.shape[0])

    def loss_fn(params):
        fake, new_state = apply_network(gen, params, z, tokens, train=True, **mixing)
        (scores, _), _ = apply_network(
            disc, disc.params, fake, tokens, train=False, **mixing
        )
        loss = losses.generator_loss(g.loss, scores[:b])
        scalars = {"g_adversarial_loss": loss}
        if interpolate:
            # Pairs of one description interpolate nothing: only valid rows count.
            per_example = jax.vmap(lambda s: losses.generator_loss(g.loss, s[None]))(
                scores[b:]
            )
            int_loss = jnp.sum(per_example * valid) / jnp.maximum(jnp.sum(valid), 1)
            loss = loss + g.interpolation_weight * int_loss
            scalars["g_interpolation_loss"] = int_loss
        scalars["g_loss"] = loss
        return loss, {"scalars": scalars, "model_state": new_state}

    gen, metrics, _ = gradient_step(gen, loss_fn)
    return gen, metrics


def train_step(config, state: MultiState, batch, rng):
    """One D update, then one G update on the same real batch; pure.

    Keys: fold_in(rng, step), split into D's and G's purposes.
    """
    gen, disc = state["gen"], state["disc"]
    d_key, g_key = jax.random.split(jax.random.fold_in(rng, state.step))
    disc, d_metrics = discriminator_step(config, gen, disc, batch, d_key)
    gen, g_metrics = generator_step(config, gen, disc, batch, g_key)
    metrics = pair.step_metrics(d_metrics, g_metrics, gen, disc)
    return state.replace_networks(gen=gen, disc=disc), metrics


def sampling_inputs(config, num_samples: int, held_out):
    """The first held-out examples' first-template captions (and their classes)."""
    examples = held_out(num_samples)
    return {
        "tokens": jnp.asarray(examples["captions"][:, 0]),
        "labels": jnp.asarray(examples["label"]),
    }


def prompt_inputs(config, prompts):
    """{"tokens": [len(prompts), L]}; a ConfigError for a word outside the run's vocabulary."""
    return {"tokens": jnp.asarray(tokenizer(config).encode_batch(list(prompts)))}


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """G(z, t) for z ~ N(0, I), one per caption of inputs["tokens"] [num_samples, L], with
    G's EMA weights unless config.sample.use_ema is off."""
    tokens, _ = take_inputs(config, inputs, "tokens", "labels")
    length = config.data.caption_length
    if tokens is None:
        raise ConfigError(
            "text_gan draws from captions: sample needs inputs={'tokens': int32 "
            f"[N, {length}]}} (prompt_inputs tokenizes prompts; grids and evaluations use "
            "the held-out captions)"
        )
    if tokens.shape != (num_samples, length):
        raise ConfigError(
            f"inputs['tokens'] has shape {tuple(tokens.shape)}; expected "
            f"[{num_samples}, {length}] (data.caption_length)"
        )
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    z = _latents(config, rng, num_samples)
    samples, _ = apply_network(
        gen, params, z, jnp.asarray(tokens, jnp.int32), train=False
    )
    return samples


ALGORITHM = Algorithm(
    name="text_gan",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    resolve_config=resolve_config,
    prompt_inputs=prompt_inputs,
)
