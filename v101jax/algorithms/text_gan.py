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
             With gan.mode_seeking_weight λ > 0 (MSGAN, Mao et al. 2019; not in GAN-CLS),
             the batch's second half repeats the first half's captions with other z, and
             λ / (d_images / d_z + ε) is added: without it G draws one image per caption
             whatever z is (benchmarks/RESULTS.md).

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
from v101jax.core.errors import ConfigError, WeightsError, require_non_negative
from v101jax.core.inputs import take_inputs
from v101jax.core.train_state import MultiState, gradient_step, sampling_params
from v101jax.data import pipeline, sample_shape
from v101jax.data.pipeline import TOY_SOURCES
from v101jax.data.tokenizer import Tokenizer
from v101jax.gan import losses, pair
from v101jax.models import gan as nets
from v101jax.models import gigagan
from v101jax.models.progan import downsample
from v101jax.models.text_gan import (
    FrozenCLIPEncoder,
    TextConditioned,
    clip_architecture,
    clip_tokenizer,
    word_pieces,
)
from v101jax.nn.text import TextEncoder

# The text upsampler's network (algorithm text_upsampler): G also reads a low-resolution image.
UPSAMPLER = "gigagan_upsampler"
# Networks that make (and whose D judges) an image pyramid.
PYRAMID_MODELS = ("gigagan", UPSAMPLER)


# Fields added since runs were first saved, with the value that keeps an older run's meaning:
# `resolve_config` fills them into a config.json that lacks them.
ADDED_FIELDS = {
    ("gan", "reconstruction_weight"): 0.0,
    ("text", "encoder"): "own",
    ("text", "clip_weights"): "",
    ("text", "clip_length"): 32,
}


def resolve_config(config):
    """`config` with text.vocabulary set to the data's caption vocabulary (when empty) and
    ADDED_FIELDS filled in where an older run's config lacks them."""
    missing = {
        (section, field): value
        for (section, field), value in ADDED_FIELDS.items()
        if field not in config[section]
    }
    if config.text.vocabulary and not missing:
        return config
    config = config.copy_and_resolve_references()
    with config.unlocked():
        for (section, field), value in missing.items():
            config[section][field] = value
        if not config.text.vocabulary:
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
            f"{', '.join(pipeline.CAPTIONED_SOURCES)}) or 'files' (data.source="
            "'image_folder' with a caption file beside each image)"
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
    require_non_negative(
        config,
        "gan",
        (
            "r1_gamma",
            "interpolation_weight",
            "mode_seeking_weight",
            "reconstruction_weight",
        ),
    )
    if g.reconstruction_weight > 0 and config.model.name != UPSAMPLER:
        raise ConfigError(
            f"gan.reconstruction_weight={g.reconstruction_weight}: only the upsampler "
            f"(model.name={UPSAMPLER!r}) has a target image to reconstruct"
        )
    if g.mode_seeking_weight > 0 and config.data.batch_size % 2:
        raise ConfigError(
            f"gan.mode_seeking_weight pairs the batch's halves: data.batch_size="
            f"{config.data.batch_size} must be even"
        )
    group = config.model.minibatch_std
    if group < 0 or (group and config.data.batch_size % group):
        # D scores the batch's three pairings (and G's two halves) as consecutive blocks of
        # batch_size: groups must not straddle two of them.
        raise ConfigError(
            f"model.minibatch_std={group} must be ≥ 0 and divide data.batch_size="
            f"{config.data.batch_size}"
        )
    if t.width % t.num_heads:
        raise ConfigError(
            f"text.width={t.width} must be a multiple of text.num_heads={t.num_heads}"
        )
    if t.encoder not in ("own", "clip"):
        raise ConfigError(f"text.encoder={t.encoder!r} is not one of: own, clip")
    if t.encoder == "clip":
        try:
            positions = clip_architecture(t.clip_weights)["max_length"]
            pieces = word_pieces(clip_tokenizer(t.clip_weights), t.vocabulary)
        except WeightsError as e:
            raise ConfigError(
                f"text.encoder='clip' reads text.clip_weights={t.clip_weights!r}: {e}"
            ) from None
        if not 2 <= t.clip_length <= positions:
            raise ConfigError(
                f"text.clip_length={t.clip_length} must be in 2 … {positions}: SOT and "
                f"EOT, within the {positions} positions of {t.clip_weights}"
            )
        longest = max(range(len(pieces)), key=lambda w: len(pieces[w]))
        if len(pieces[longest]) > t.clip_length - 2:
            raise ConfigError(
                f"the vocabulary's word {t.vocabulary[longest]!r} is "
                f"{len(pieces[longest])} CLIP tokens; text.clip_length={t.clip_length} "
                f"leaves {t.clip_length - 2} between SOT and EOT"
            )
    if (config.model.name == UPSAMPLER) != (config.algorithm == "text_upsampler"):
        raise ConfigError(
            f"model.name={UPSAMPLER!r} is the network of algorithm 'text_upsampler' "
            f"(configs/gigagan_upsampler.py), and that algorithm's only one; this config "
            f"has algorithm={config.algorithm!r} and model.name={config.model.name!r}"
        )
    if config.model.name != "mlp" and config.data.source in TOY_SOURCES:
        raise ConfigError(
            f"model.name={config.model.name!r} needs image data, not "
            f"data.source={config.data.source!r}"
        )
    if config.model.name in PYRAMID_MODELS:
        m = config.model
        size = sample_shape(config.data)[0]
        if size != 4 * 2 ** (len(m.widths) - 1):
            raise ConfigError(
                f"model.widths={tuple(m.widths)} make {4 * 2 ** (len(m.widths) - 1)} px "
                f"images; the data's are {size} px (4·2^(levels−1); data.pad pads them)"
            )
        if not 1 <= m.pyramid_levels <= len(m.widths):
            raise ConfigError(
                f"model.pyramid_levels={m.pyramid_levels} must be in 1 … {len(m.widths)}"
            )
        if any(not 0 <= lv < len(m.widths) for lv in m.cross_attention_levels):
            raise ConfigError(
                f"model.cross_attention_levels={tuple(m.cross_attention_levels)} must "
                f"name levels 0 … {len(m.widths) - 1}"
            )
    if config.model.name == UPSAMPLER:
        factor = config.model.upsample_factor
        if factor < 2 or factor & (factor - 1) or size // factor < 4:
            raise ConfigError(
                f"model.upsample_factor={factor} must be a power of 2 ≥ 2 that leaves "
                f"sources of at least 4 px (the images are {size} px)"
            )


def make_networks(config):
    """(generator, discriminator) modules from explicit config fields."""
    m, t = config.model, config.text
    dtype = precision.compute_dtype(m.dtype)

    def encoder():
        if t.encoder == "clip":
            # The weights are read from the file when the network is initialised.
            return FrozenCLIPEncoder(
                weights_path=t.clip_weights,
                vocabulary=tuple(t.vocabulary),
                clip_length=t.clip_length,
                width=t.width,
                dtype=dtype,
            )
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
            minibatch_std=m.minibatch_std,
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
            channels=m.channels,
            spectral_norm=m.spectral_norm,
            minibatch_std=m.minibatch_std,
            **shared,
        )
    elif m.name in PYRAMID_MODELS:
        size, _, channels = sample_shape(config.data)
        widths = tuple(m.widths)
        synthesis = {
            "widths": widths,
            "channels": channels,
            "w_dim": m.w_dim,
            "mapping_layers": m.mapping_layers,
            "code_dim": t.code_dim,
            "cross_attention_levels": tuple(m.cross_attention_levels),
            "num_heads": m.num_heads,
            "pyramid_levels": m.pyramid_levels,
            "dtype": dtype,
        }
        if m.name == UPSAMPLER:
            gen = gigagan.TextUpsampler(
                encoder(), factor=m.upsample_factor, **synthesis
            )
        else:
            gen = gigagan.TextStyleGenerator(encoder(), **synthesis)
        return (
            gen,
            gigagan.MultiScaleTextDiscriminator(
                encoder(), widths=widths, group_size=m.minibatch_std, dtype=dtype
            ),
        )
    else:
        raise ConfigError(
            f"model.name={m.name!r} is not one of: mlp, dcgan, {', '.join(PYRAMID_MODELS)}"
        )
    return (
        TextConditioned(encoder(), gen, code_dim=t.code_dim, dtype=dtype),
        TextConditioned(encoder(), disc, code_dim=t.code_dim, dtype=dtype),
    )


def init(config, rng, example_batch) -> MultiState:
    """Both networks (each with its text encoder), their optimisers and G's EMA."""
    validate(config)
    return init_state(config, rng, example_batch)


def init_state(config, rng, example_batch) -> MultiState:
    """`init` without the config checks: how a second stage rebuilds a finished run's state
    (whose config.json may predate fields added since)."""
    gen_model, disc_model = make_networks(config)
    g_key, d_key = jax.random.split(rng)
    x = example_batch["x"]
    tokens = example_batch["captions"][:, 0]
    z = jnp.zeros((x.shape[0], config.model.latent_dim), jnp.float32)
    noise_key, g_key = jax.random.split(g_key)
    g_vars = gen_model.init(
        {"params": g_key, "noise": noise_key},
        z,
        tokens,
        *conditioning_images(config, x),
        train=False,
    )
    d_vars = disc_model.init(d_key, _judged(config, x), tokens, train=False)
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


def low_resolution(config, x):
    """The upsampler's source for images x: 2× average pooling (the pyramid's filter, so
    a base generator's pyramid level is what it was trained on) to 1/model.upsample_factor
    of the size."""
    for _ in range(config.model.upsample_factor.bit_length() - 1):
        x = downsample(x)
    return x


def conditioning_images(config, x) -> tuple:
    """The images G reads besides z and the caption, for a batch of real images x: the
    upsampler's low-resolution source, else none."""
    return (low_resolution(config, x),) if config.model.name == UPSAMPLER else ()


def _generate(gen, params, z, tokens, rng, *images, **mixing):
    """(G's output: images, or GigaGAN's pyramid, coarse to fine; new model state)."""
    return apply_network(
        gen, params, z, tokens, *images, train=True, rngs={"noise": rng}, **mixing
    )


def _judged(config, x):
    """What D reads of real images x: the image, or GigaGAN's pyramid of it."""
    if config.model.name in PYRAMID_MODELS:
        return gigagan.image_pyramid(x, config.model.pyramid_levels)
    return x


def _concat(parts):
    """Concatenates images (or pyramids, level by level) along the batch."""
    return jax.tree.map(lambda *p: jnp.concatenate(p), *parts)


def discriminator_step(config, gen, disc, batch, rng):
    """One matching-aware D update (+ R1)."""
    g = config.gan
    real = batch["x"]
    b = real.shape[0]
    caption_key, z_key, noise_key = jax.random.split(rng, 3)
    right, wrong, valid = _batch_captions(batch, caption_key)
    fake, _ = _generate(
        gen,
        gen.params,
        _latents(config, z_key, b),
        right,
        noise_key,
        *conditioning_images(config, real),
    )
    fake = jax.lax.stop_gradient(fake)
    judged_real = _judged(config, real)
    if config.model.name in PYRAMID_MODELS:
        valid = valid[:, None]  # scores [B, levels]: one per pyramid level

    def loss_fn(params):
        # The three pairs in one call: D has no batch statistics to mix.
        x = _concat([judged_real, judged_real, fake])
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
        valid_scores = jnp.broadcast_to(valid, real_wrong.shape)
        scalars = {
            "d_adversarial_loss": loss,
            "d_real_right": jnp.mean(real_right),
            "d_real_wrong": jnp.mean(real_wrong, where=valid_scores),
            "d_fake": jnp.mean(fake_right),
            # How often D ranks an image's own caption above a mismatched one.
            "d_match_accuracy": jnp.mean(real_right > real_wrong, where=valid_scores),
        }
        if g.r1_gamma > 0:

            def score_fn(v):
                scores = apply_network(
                    disc, params, _judged(config, v), right, train=False
                )[0][0]
                return scores if scores.ndim == 1 else jnp.sum(scores, axis=-1)

            r1 = losses.r1_penalty(score_fn, real)
            loss = loss + 0.5 * g.r1_gamma * r1
            scalars["r1_penalty"] = r1
        scalars["d_loss"] = loss
        return loss, {"scalars": scalars, "model_state": new_state}

    disc, metrics, _ = gradient_step(disc, loss_fn)
    return disc, metrics


def generator_step(config, gen, disc, batch, rng):
    """One G update on G(z, t), plus GAN-INT's interpolated captions and the mode-seeking
    term when asked."""
    g = config.gan
    b = batch["x"].shape[0]
    caption_key, z_key, noise_key = jax.random.split(rng, 3)
    seek_modes = g.mode_seeking_weight > 0
    if seek_modes:
        # The second half of the batch repeats the first half's examples: pairs i, i + B/2
        # share a description and differ in z.
        half = b // 2
        batch = {
            k: jnp.concatenate([batch[k][:half], batch[k][:half]])
            for k in ("x", "captions", "description")
        }
    right, _, valid = _batch_captions(batch, caption_key)
    tokens, mixing = right, {}
    images = conditioning_images(config, batch["x"])
    interpolate = g.interpolation_weight > 0
    if interpolate:
        # G makes 2B images in one call (one set of batch statistics): B from the right
        # captions (β = 1), B from interpolations of those with other descriptions'.
        j, _ = mismatched_indices(
            batch["description"], jax.random.fold_in(caption_key, 1)
        )
        tokens = jnp.concatenate([right, right])
        images = tuple(jnp.concatenate([v, v]) for v in images)
        mixing = {
            "mix_tokens": jnp.concatenate([right, right[j]]),
            "beta": jnp.concatenate(
                [jnp.ones((b,)), jnp.full((b,), g.interpolation_beta)]
            ),
        }
    z = _latents(config, z_key, tokens.shape[0])

    def loss_fn(params):
        fake, new_state = _generate(
            gen, params, z, tokens, noise_key, *images, **mixing
        )
        (scores, _), _ = apply_network(
            disc, disc.params, fake, tokens, train=False, **mixing
        )
        loss = losses.generator_loss(g.loss, scores[:b])
        scalars = {"g_adversarial_loss": loss}
        final = fake[-1] if config.model.name in PYRAMID_MODELS else fake
        if g.reconstruction_weight > 0:
            # The upsampler's L1 to the image its source was pooled from (GigaGAN: LPIPS).
            reconstruction = jnp.mean(jnp.abs(final[:b] - batch["x"]))
            loss = loss + g.reconstruction_weight * reconstruction
            scalars["reconstruction_l1"] = reconstruction
        if seek_modes:
            ratio = mode_seeking_ratio(final[:b], z[:b])
            loss = loss + g.mode_seeking_weight / (ratio + 1e-5)
            scalars["mode_seeking_ratio"] = ratio
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


def mode_seeking_ratio(images, z):
    """MSGAN's d_I / d_z (Mao et al. 2019, eq. 3): the mean absolute difference of the
    images of the pairs (i, i + B/2), over that of their latents. G's loss adds
    λ / (ratio + ε), pushing one caption's images apart as their z differ."""
    half = images.shape[0] // 2
    d_images = jnp.mean(jnp.abs(images[:half] - images[half : 2 * half]))
    d_z = jnp.mean(jnp.abs(z[:half] - z[half : 2 * half]))
    return d_images / d_z


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
        gen,
        params,
        z,
        jnp.asarray(tokens, jnp.int32),
        train=False,
        rngs={"noise": jax.random.fold_in(rng, 1)},
    )
    return samples[-1] if config.model.name == "gigagan" else samples


ALGORITHM = Algorithm(
    name="text_gan",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    resolve_config=resolve_config,
    prompt_inputs=prompt_inputs,
)
