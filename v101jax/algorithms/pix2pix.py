"""Pix2Pix (Isola et al. 2017): image-to-image translation with a conditional GAN and L1.

    G* = arg min_G max_D  λ_adv · L_cGAN(G, D) + λ_L1 · E‖y − G(x)‖₁

on paired data (batches {"source": x, "target": y}; `data.source = "fashion_edges"` pairs
Fashion-MNIST garments with their edge maps). G is a U-Net, D a PatchGAN that scores
(source, image) pairs patch by patch (v101jax/models/pix2pix.py). As in the paper and its
code: the non-saturating loss (v101jax.gan.losses) on every patch logit, D's loss halved,
λ_L1 = 100 (`pix2pix.l1_weight`), Adam 2e-4 with β₁ = 0.5 for both networks (`optim`,
`d_optim`), kernels N(0, 0.02). `pix2pix.adversarial_weight` = 0 gives the L1-only ablation
(D still trains, so its scores stay logged, but G ignores it).

The paper has no noise input z; its only stochasticity is the generator's dropout, which it
keeps at test time. Here dropout (`pix2pix.dropout`) is active in training only and `sample`
is deterministic: the same source gives the same image, so grids and held-out figures depend
on the weights only. `sample` takes inputs={"source": [N, H, W, C]} and refuses to run without
it; grids and evaluations feed it the first N sources of `eval.reference_split`
(`sampling_inputs`). `evaluate` reports L1, PSNR and SSIM (dB and SSIM on the [-1, 1] scale)
of G(source) against the targets of a held-out batch.

State: MultiState(networks={"gen", "disc"}, primary="gen"); one train_step is one D update
then one G update against the updated D, both on the same batch (paper: batch 1; here
`data.batch_size`) and through one forward pass of G (train_state.output_and_pullback).
"""

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.core import precision
from v101jax.core.errors import ConfigError, require_non_negative
from v101jax.core.inputs import one_domain_translation, source_images
from v101jax.core.train_state import (
    MultiState,
    TrainState,
    gradient_step,
    gradient_step_on_output,
    output_and_pullback,
    sampling_params,
)
from v101jax.data import is_paired
from v101jax.gan import losses, pair
from v101jax.metrics import image_quality
from v101jax.models import pix2pix as nets

GAN_LOSS = "non_saturating"
D_LOSS_SCALE = 0.5  # the paper's code halves D's loss (slows D relative to G)


def l1_loss(images, targets):
    """Mean absolute error over every pixel and channel: E‖y − G(x)‖₁ per pixel."""
    return jnp.mean(jnp.abs(images - targets))


def make_networks(config, channels: int):
    """(generator, discriminator) from explicit config fields; G outputs `channels`."""
    m, p = config.model, config.pix2pix
    dtype = precision.compute_dtype(m.dtype)
    gen = nets.UNetGenerator(
        out_channels=channels,
        channels=m.channels,
        bottleneck=p.bottleneck,
        dropout=p.dropout,
        levels=p.levels,
        dtype=dtype,
    )
    disc = nets.PatchDiscriminator(
        channels=m.channels, num_strided=p.disc_layers, dtype=dtype
    )
    return gen, disc


def validate(config, image_shape):
    """ConfigError naming the field for values Pix2Pix cannot use (images [H, W, C])."""
    p = config.pix2pix
    if not is_paired(config.data):
        raise ConfigError(
            f"algorithm 'pix2pix' needs a paired data.source (fashion_edges, "
            f"paired_folder), not {config.data.source!r}"
        )
    require_non_negative(config, "pix2pix", ("l1_weight", "adversarial_weight"))
    if not 0.0 <= p.dropout < 1.0:
        raise ConfigError(f"pix2pix.dropout={p.dropout} must be in [0, 1)")
    if p.disc_layers < 1:
        raise ConfigError(f"pix2pix.disc_layers={p.disc_layers} must be ≥ 1")
    if p.bottleneck < 1 or p.levels < 1:
        raise ConfigError(
            f"pix2pix.bottleneck={p.bottleneck} and pix2pix.levels={p.levels} must be ≥ 1"
        )
    for size in image_shape[:2]:
        if size % 2**p.levels or size % 2**p.disc_layers:
            raise ConfigError(
                f"image size {size} must be a multiple of 2^pix2pix.levels = "
                f"{2**p.levels} (the U-Net's stride-2 levels) and of 2^pix2pix.disc_layers "
                f"= {2**p.disc_layers}"
            )


def init(config, rng, example_batch) -> MultiState:
    """Builds G and D with their Adam optimisers (no EMA unless optim.ema_decay > 0)."""
    source, target = example_batch["source"], example_batch["target"]
    validate(config, target.shape[1:])
    gen_model, disc_model = make_networks(config, target.shape[-1])
    g_key, d_key, drop_key = jax.random.split(rng, 3)
    g_vars = gen_model.init({"params": g_key, "dropout": drop_key}, source, train=False)
    d_vars = disc_model.init(d_key, source, target, train=False)
    return pair.generator_and_discriminator(
        config, gen_model, g_vars, disc_model, d_vars
    )


def generate(gen: TrainState, params, source, *, dropout_rng=None):
    """G(source): with dropout when `dropout_rng` is given (training), else deterministic."""
    if dropout_rng is None:
        return gen.apply_fn({"params": params}, source, train=False)
    return gen.apply_fn(
        {"params": params}, source, train=True, rngs={"dropout": dropout_rng}
    )


def _scores(disc: TrainState, params, source, image):
    return disc.apply_fn({"params": params}, source, image, train=True)


def generator_forward(gen: TrainState, batch, dropout_rng):
    """(G(source) with dropout, {}, the pullback to G's parameter gradients)."""
    return output_and_pullback(
        gen,
        lambda params, source: (
            generate(gen, params, source, dropout_rng=dropout_rng),
            {},
        ),
        batch["source"],
    )


def discriminator_step(config, disc, batch, fake):
    """One D update: real pairs (source, target) against (source, fake)."""
    source, target = batch["source"], batch["target"]
    b = source.shape[0]

    def loss_fn(params):
        # Real and generated pairs in one call (D's instance norm is per example).
        logits = _scores(
            disc,
            params,
            jnp.concatenate([source, source]),
            jnp.concatenate([target, fake]),
        )
        real, generated = logits[:b].reshape(-1), logits[b:].reshape(-1)
        loss = D_LOSS_SCALE * losses.discriminator_loss(GAN_LOSS, real, generated)
        scalars = {
            "d_loss": loss,
            "d_real": jnp.mean(jax.nn.sigmoid(real)),
            "d_fake": jnp.mean(jax.nn.sigmoid(generated)),
        }
        return loss, {"scalars": scalars}

    disc, metrics, _ = gradient_step(disc, loss_fn)
    return disc, metrics


def generator_step(config, gen, disc, batch, forward):
    """One G update: λ_adv · (−E log D(x, G(x))) + λ_L1 · ‖y − G(x)‖₁ against `disc`, through
    `forward` = generator_forward(gen, batch, key)."""
    p = config.pix2pix
    source, target = batch["source"], batch["target"]
    fake, _, pullback = forward

    def loss_fn(fake):
        logits = _scores(disc, disc.params, source, fake).reshape(-1)
        adversarial = losses.generator_loss(GAN_LOSS, logits)
        l1 = l1_loss(fake, target)
        loss = p.adversarial_weight * adversarial + p.l1_weight * l1
        scalars = {"g_loss": loss, "g_adversarial_loss": adversarial, "l1": l1}
        return loss, {"scalars": scalars}

    gen, metrics, _ = gradient_step_on_output(gen, pullback, fake, loss_fn)
    return gen, metrics


def train_step(config, state: MultiState, batch, rng):
    """One D update, then one G update against the new D; the dropout key is
    fold_in(rng, generator step). G runs once: D is trained on the image (dropout mask
    included) that G is then updated through."""
    key = jax.random.fold_in(rng, state.step)
    gen, disc = state["gen"], state["disc"]
    forward = generator_forward(gen, batch, key)
    disc, d_metrics = discriminator_step(config, disc, batch, forward[0])
    gen, g_metrics = generator_step(config, gen, disc, batch, forward)
    metrics = pair.step_metrics(d_metrics, g_metrics, gen, disc)
    return state.replace_networks(gen=gen, disc=disc), metrics


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """G(source) for inputs={"source": [num_samples, H, W, C]}: images NHWC in [-1, 1].

    Deterministic (no dropout, `rng` unused); EMA weights when config.sample.use_ema (equal
    to the raw weights unless optim.ema_decay > 0).
    """
    del rng
    source = source_images(config, inputs, num_samples, does="translates images")
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    return generate(gen, params, jnp.asarray(source, jnp.float32))


def sampling_inputs(config, num_samples: int, held_out):
    """{"source": the first num_samples held-out source images}."""
    return {"source": held_out(num_samples)["source"]}


def translation_inputs(config, source, target_domain):
    """{"source": source}: Pix2Pix has one output domain."""
    return one_domain_translation(
        config, source, target_domain, has="one output domain"
    )


def evaluate(config, state: MultiState, batch, rng):
    """L1, PSNR (dB) and SSIM of G(source) against the targets of a held-out batch (images
    on the [-1, 1] scale, data range 2); SSIM only for images of at least 11×11."""
    del rng
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    images = generate(gen, params, batch["source"])
    target = batch["target"]
    metrics = {
        "l1": l1_loss(images, target),
        "psnr": jnp.mean(image_quality.psnr(images, target)),
    }
    if min(target.shape[1:3]) >= 11:
        metrics["ssim"] = jnp.mean(image_quality.ssim(images, target))
    return metrics


ALGORITHM = Algorithm(
    name="pix2pix",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    translation_inputs=translation_inputs,
    evaluate=evaluate,
)
