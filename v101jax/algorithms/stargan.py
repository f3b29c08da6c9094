"""StarGAN (Choi et al. 2018): one generator translates an image into any of K domains.

Domains are the classes of a labelled image source (batches {"x": images, "label": int32};
`data.source = "fashion_mnist"`: K = 10 garment classes). G(x, c) takes an image and a
target domain c (one-hot, tiled over the image, v101jax/models/stargan.py); D has a
PatchGAN source head D_src and a domain-classification head D_cls. The paper's objectives
(eq. 1–7, WGAN-GP form as in its code, yunjey/stargan `solver.py`):

  L_D = −E D_src(x) + E D_src(G(x, c)) + λ_cls · CE(D_cls(x), c′) + λ_gp · E(‖∇D_src(x̂)‖₂ − 1)²
  L_G = −E D_src(G(x, c)) + λ_cls · CE(D_cls(G(x, c)), c) + λ_rec · E‖x − G(G(x, c), c′)‖₁

with c′ the source domain of x, D_src averaged over its patch scores (the penalty's gradient
is that of their sum, as the reference takes it) and x̂ = εx + (1 − ε)G(x, c), ε ~ U[0, 1]
per image. Defaults are the paper's: λ_cls = 1, λ_rec = 10, λ_gp = 10 (`stargan.cls_weight`,
`rec_weight`, `gp_weight`), n_critic = 5 D updates per G update (`stargan.n_critic`), Adam
1e-4, β = (0.5, 0.999) for both networks (`optim`, `d_optim`).

Target domains (`stargan.targets`): "permute" (default, the reference) takes a random
permutation of the batch's own labels, so targets follow the data's class frequencies and
some targets equal the source domain (about 1/K of them, plus the permutation's fixed
points); "other" draws each target uniformly from the K − 1 other domains.

One train_step = n_critic D updates, each on its own slice of data.batch_size / n_critic
images with fresh targets (v101jax.gan.critic, unrolled in the program unless
`stargan.unroll_critic` is off), then one G update on the last slice (the reference updates G
on the batch of the D update before it). The reference's D batch is 16, so its setting is
data.batch_size = 5 · 16 = 80. Deviation: the learning rates stay constant (the reference
decays them linearly to 0 over the second half of its 200k D iterations).

`sample` takes inputs={"source": [N, H, W, C], "domain": int32 [N]} and returns G(source,
domain), deterministically; grids translate the first held-out images into domains 0, 1, …,
K − 1 in turn (`sampling_inputs`), shown as source | translation pairs. `evaluate` translates
every held-out image into every domain and reports `domain_accuracy` (the fraction the shipped
Fashion-MNIST classifier assigns to the requested domain; Fashion-MNIST data only) with
`changed_domain_accuracy` (the same over targets other than the source's domain),
`d_domain_accuracy` (the same by D's own domain head: not an independent judge), and
`reconstruction_l1` = E‖x − G(G(x, c), c′)‖₁.

State: MultiState(networks={"gen", "disc"}, primary="gen"); state.step counts G updates.
"""

import functools

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.core import precision
from v101jax.core.errors import ConfigError, require_non_negative
from v101jax.core.inputs import take_inputs
from v101jax.core.train_state import (
    MultiState,
    TrainState,
    gradient_step,
    sampling_params,
)
from v101jax.data import is_paired, num_classes, sample_shape
from v101jax.data.pipeline import TOY_SOURCES
from v101jax.gan import critic, losses, pair
from v101jax.metrics import extractors, fashion_classifier
from v101jax.models import stargan as nets

TARGETS = ("permute", "other")


def make_networks(config, channels: int):
    """(generator, discriminator) from explicit config fields; G outputs `channels`."""
    m, s = config.model, config.stargan
    dtype = precision.compute_dtype(m.dtype)
    k = num_classes(config.data)
    gen = nets.Generator(
        out_channels=channels,
        channels=m.channels,
        num_res_blocks=m.num_res_blocks,
        dtype=dtype,
    )
    disc = nets.Discriminator(
        num_domains=k,
        channels=s.disc_channels,
        num_strided=s.disc_layers,
        dtype=dtype,
    )
    return gen, disc


def validate(config, image_shape=None):
    """ConfigError naming the field for values StarGAN cannot use (images [H, W, C];
    default: the data source's shape)."""
    s, data = config.stargan, config.data
    if is_paired(data) or data.source in TOY_SOURCES:
        raise ConfigError(
            f"algorithm 'stargan' needs a labelled image source (batches x, label), not "
            f"data.source={data.source!r}"
        )
    if num_classes(data) < 2:
        raise ConfigError(
            f"algorithm 'stargan' needs at least 2 domains (label classes); "
            f"data.source={data.source!r} has {num_classes(data)}"
        )
    if s.targets not in TARGETS:
        raise ConfigError(
            f"stargan.targets={s.targets!r} is not one of: {', '.join(TARGETS)}"
        )
    require_non_negative(config, "stargan", ("cls_weight", "rec_weight", "gp_weight"))
    if s.n_critic < 1:
        raise ConfigError(f"stargan.n_critic={s.n_critic} must be ≥ 1")
    if data.batch_size % s.n_critic:
        raise ConfigError(
            f"data.batch_size={data.batch_size} must be a multiple of "
            f"stargan.n_critic={s.n_critic} (each D update takes its own slice)"
        )
    if s.disc_layers < 1:
        raise ConfigError(f"stargan.disc_layers={s.disc_layers} must be ≥ 1")
    if config.model.num_res_blocks < 0:
        raise ConfigError(
            f"model.num_res_blocks={config.model.num_res_blocks} must be ≥ 0"
        )
    shape = sample_shape(data) if image_shape is None else image_shape
    for size in shape[:2]:
        if size % 4 or size % 2**s.disc_layers:
            raise ConfigError(
                f"image size {size} must be a multiple of 4 (G's two down-samplings) and "
                f"of 2^stargan.disc_layers = {2**s.disc_layers} (D's stride-2 layers); "
                f"28×28 allows disc_layers ≤ 2"
            )


def init(config, rng, example_batch) -> MultiState:
    """Builds G and D with their Adam optimisers (no EMA unless optim.ema_decay > 0)."""
    x = example_batch["x"]
    validate(config, x.shape[1:])
    gen_model, disc_model = make_networks(config, x.shape[-1])
    k = num_classes(config.data)
    g_key, d_key = jax.random.split(rng)
    x = x[:1]
    g_vars = gen_model.init(g_key, x, jnp.zeros((1, k)), train=False)
    d_vars = disc_model.init(d_key, x, train=False)
    return pair.generator_and_discriminator(
        config,
        gen_model,
        g_vars,
        disc_model,
        d_vars,
        disc_updates_per_step=config.stargan.n_critic,
    )


def translate(config, gen: TrainState, params, images, domains):
    """G(images, c) for int domains [B] (one-hot vectors c of K = the data's classes)."""
    c = jax.nn.one_hot(domains, num_classes(config.data), dtype=jnp.float32)
    return gen.apply_fn({"params": params}, images, c, train=False)


def discriminate(disc: TrainState, params, images):
    """(D_src patch scores [B, H', W'], D_cls domain logits [B, K])."""
    return disc.apply_fn({"params": params}, images, train=True)


def target_domains(config, labels, rng):
    """Target domains [B] for source domains `labels` [B] (see stargan.targets)."""
    if config.stargan.targets == "permute":
        return labels[jax.random.permutation(rng, labels.shape[0])]
    k = num_classes(config.data)
    shift = jax.random.randint(rng, labels.shape, 1, k)  # 1 … K − 1
    return (labels + shift) % k


def reconstruction_l1(images, reconstructions):
    """E‖x − G(G(x, c), c′)‖₁ per pixel: the mean absolute error of the round trip."""
    return jnp.mean(jnp.abs(images - reconstructions))


def _accuracy(logits, labels):
    return jnp.mean(jnp.argmax(logits, axis=-1) == labels)


def discriminator_loss(config, disc: TrainState, params, x, fake, source_domains, rng):
    """L_D at D's `params` for real images x [B, H, W, C] of `source_domains` [B] and their
    translations `fake` (no gradient flows into them); `rng` draws the penalty's ε.

    Returns:
      (loss, {"scalars": its terms, the Wasserstein estimate and D_cls's accuracy on x}).
    """
    s = config.stargan
    b = x.shape[0]
    # Real and translated images in one call (D has no batch statistics to mix).
    src, cls = discriminate(disc, params, jnp.concatenate([x, fake]))
    real_src, fake_src = src[:b].reshape(-1), src[b:].reshape(-1)
    # −E D_src(x) + E D_src(G(x, c)), every patch score counted.
    adversarial = losses.discriminator_loss("wasserstein", real_src, fake_src)
    cls_loss = losses.classification_loss(cls[:b], source_domains)

    def score_fn(v):
        # The sum of an image's patch scores: the reference's grad_outputs = ones.
        return jnp.sum(discriminate(disc, params, v)[0], axis=(1, 2))

    gp = losses.gradient_penalty(score_fn, x, fake, rng)
    loss = adversarial + s.cls_weight * cls_loss + s.gp_weight * gp
    scalars = {
        "d_loss": loss,
        "d_adversarial_loss": adversarial,
        "d_cls_loss": cls_loss,
        "gradient_penalty": gp,
        # E D_src(x) − E D_src(G(x, c)): the critic's Wasserstein estimate.
        "wasserstein_estimate": -adversarial,
        "d_real_domain_accuracy": _accuracy(cls[:b], source_domains),
    }
    return loss, {"scalars": scalars}


def generator_loss(
    config, gen: TrainState, disc: TrainState, params, x, source_domains, targets
):
    """L_G at G's `params` for images x [B, H, W, C] of `source_domains` [B] translated into
    `targets` [B], scored by `disc`.

    Returns:
      (loss, {"scalars": its terms and D_cls's accuracy on the translations}).
    """
    s = config.stargan
    fake = translate(config, gen, params, x, targets)
    src, cls = discriminate(disc, disc.params, fake)
    adversarial = -jnp.mean(src)  # −E D_src(G(x, c))
    cls_loss = losses.classification_loss(cls, targets)
    rec = reconstruction_l1(x, translate(config, gen, params, fake, source_domains))
    loss = adversarial + s.cls_weight * cls_loss + s.rec_weight * rec
    scalars = {
        "g_loss": loss,
        "g_adversarial_loss": adversarial,
        "g_cls_loss": cls_loss,
        "reconstruction_l1": rec,
        "g_d_domain_accuracy": _accuracy(cls, targets),
    }
    return loss, {"scalars": scalars}


def discriminator_step(config, gen: TrainState, disc: TrainState, batch, rng):
    """One D update: real images against G(x, c) for fresh targets c, with D_cls trained on
    the real images' domains and the gradient penalty at interpolates."""
    x, source_domains = batch["x"], batch["label"]
    target_key, gp_key = jax.random.split(rng)
    targets = target_domains(config, source_domains, target_key)
    fake = jax.lax.stop_gradient(translate(config, gen, gen.params, x, targets))
    loss_fn = functools.partial(discriminator_loss, config, disc)
    disc, metrics, _ = gradient_step(disc, loss_fn, x, fake, source_domains, gp_key)
    return disc, metrics


def generator_step(config, gen: TrainState, disc: TrainState, batch, rng):
    """One G update against the (just updated) D: fool D_src, land in the target domain by
    D_cls, and map back to the source image under the source domain."""
    x, source_domains = batch["x"], batch["label"]
    targets = target_domains(config, source_domains, rng)
    loss_fn = functools.partial(generator_loss, config, gen, disc)
    gen, metrics, _ = gradient_step(gen, loss_fn, x, source_domains, targets)
    return gen, metrics


def train_step(config, state: MultiState, batch, rng):
    """n_critic D updates on consecutive slices of the batch, then one G update on the last.

    Keys: fold_in(rng, G step), split into the D and G purposes; D update i folds in i, then
    splits into its targets' and the penalty's keys.
    """
    s = config.stargan
    gen, disc = state["gen"], state["disc"]
    d_key, g_key = jax.random.split(jax.random.fold_in(rng, state.step))

    def critic_update(disc, batch_slice, key):
        return discriminator_step(config, gen, disc, batch_slice, key)

    batch = {"x": batch["x"], "label": batch["label"]}
    disc, d_scalars, last_slice = critic.critic_updates(
        critic_update, disc, batch, s.n_critic, d_key, unroll=s.unroll_critic
    )
    gen, g_scalars = generator_step(config, gen, disc, last_slice, g_key)
    metrics = pair.step_metrics(d_scalars, g_scalars, gen, disc)
    return state.replace_networks(gen=gen, disc=disc), metrics


def _check_inputs(config, num_samples: int, source, domain):
    """ConfigError for a missing or malformed `sample` input (values checked where known)."""
    k = num_classes(config.data)
    if source is None or domain is None:
        raise ConfigError(
            "stargan translates images: sample needs inputs={'source': images [N, H, W, C], "
            f"'domain': int32 [N] target domains in 0 … {k - 1}}} (grids and evaluations "
            "take the sources from the held-out split)"
        )
    channels = sample_shape(config.data)[-1]
    if (
        source.ndim != 4
        or source.shape[0] != num_samples
        or source.shape[-1] != channels
    ):
        raise ConfigError(
            f"inputs['source'] has shape {tuple(source.shape)}; expected {num_samples} "
            f"images [{num_samples}, H, W, {channels}]"
        )
    if any(size % 4 for size in source.shape[1:3]):
        raise ConfigError(
            f"inputs['source'] images are {source.shape[1]}×{source.shape[2]}; the "
            "generator needs sizes that are multiples of 4"
        )
    if tuple(domain.shape) != (num_samples,) or not jnp.issubdtype(
        domain.dtype, jnp.integer
    ):
        raise ConfigError(
            f"inputs['domain'] is {domain.dtype}{list(domain.shape)}; expected integer "
            f"target domains [{num_samples}] in 0 … {k - 1}"
        )
    if not isinstance(domain, jax.core.Tracer):
        values = jax.device_get(domain)
        if values.size and (values.min() < 0 or values.max() >= k):
            raise ConfigError(
                f"inputs['domain'] holds {values.min()} … {values.max()}; the domains of "
                f"data.source={config.data.source!r} are 0 … {k - 1}"
            )


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """G(source, domain) for inputs={"source": [num_samples, H, W, C], "domain": int
    [num_samples]}: images NHWC in [-1, 1].

    Deterministic (`rng` unused); EMA weights when config.sample.use_ema (equal to the raw
    weights unless optim.ema_decay > 0).
    """
    del rng
    source, domain = take_inputs(config, inputs, "source", "domain")
    source = None if source is None else jnp.asarray(source)
    domain = None if domain is None else jnp.asarray(domain)
    _check_inputs(config, num_samples, source, domain)
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    return translate(
        config, gen, params, source.astype(jnp.float32), domain.astype(jnp.int32)
    )


def sampling_inputs(config, num_samples: int, held_out):
    """The first num_samples held-out images as sources, with target domains 0, 1, …, K − 1,
    0, … in turn (with K² samples, row r of a grid is sources rK … rK + K − 1 and column j
    translates into domain j)."""
    k = num_classes(config.data)
    return {
        "source": held_out(num_samples)["x"],
        "domain": jnp.arange(num_samples, dtype=jnp.int32) % k,
    }


def translation_inputs(config, source, target_domain):
    """{"source", "domain"}: every image into `target_domain`, one of the K domains."""
    k = num_classes(config.data)
    if target_domain is None or not 0 <= target_domain < k:
        raise ConfigError(
            f"stargan translates into one of its {k} domains: give --target_domain in "
            f"0 … {k - 1} (got {target_domain})"
        )
    return {"source": source, "domain": jnp.full(len(source), target_domain, jnp.int32)}


def scored_by_fashion_classifier(config, image_shape) -> bool:
    """Whether translations can be judged by the shipped Fashion-MNIST classifier: the
    domains are Fashion-MNIST's 10 classes and the images 28 × 28 × 1."""
    return (
        extractors.is_fashion_mnist(config.data)
        and num_classes(config.data) == fashion_classifier.NUM_CLASSES
        and tuple(image_shape) == (28, 28, 1)
    )


def evaluate(config, state: MultiState, batch, rng):
    """Every image of a held-out batch {"x", "label"} translated into every domain.

    Returns:
      domain_accuracy: the fraction of the B·K translations the shipped Fashion-MNIST
        classifier puts in the requested domain (only where `scored_by_fashion_classifier`);
        changed_domain_accuracy the same over the targets that differ from the source's
        domain, real_domain_accuracy the classifier's accuracy on the sources themselves
        (the ceiling it can confirm).
      d_domain_accuracy: the same fraction by D's domain head (always; D is trained with
        G, so this is not an independent judge).
      reconstruction_l1: E‖x − G(G(x, c), c′)‖₁ over the B·K round trips.
    """
    del rng
    x, source_domains = batch["x"], batch["label"]
    b = x.shape[0]
    k = num_classes(config.data)
    gen, disc = state["gen"], state["disc"]
    params = sampling_params(gen, config.sample.use_ema)
    # Domain-major: translation j·B + i is image i into domain j.
    images = jnp.tile(x, (k, 1, 1, 1))  # [K·B, H, W, C]
    sources = jnp.tile(source_domains, k)
    targets = jnp.repeat(jnp.arange(k, dtype=jnp.int32), b)
    fake = translate(config, gen, params, images, targets)
    rec = translate(config, gen, params, fake, sources)
    _, d_logits = disc.apply_fn({"params": disc.params}, fake, train=False)
    metrics = {
        "reconstruction_l1": reconstruction_l1(images, rec),
        "d_domain_accuracy": _accuracy(d_logits, targets),
    }
    if scored_by_fashion_classifier(config, x.shape[1:]):
        hits = jnp.argmax(fashion_classifier.class_logits(fake), -1) == targets
        changed = targets != sources
        metrics["domain_accuracy"] = jnp.mean(hits)
        metrics["changed_domain_accuracy"] = jnp.sum(hits & changed) / jnp.maximum(
            jnp.sum(changed), 1
        )
        metrics["real_domain_accuracy"] = _accuracy(
            fashion_classifier.class_logits(x), source_domains
        )
    return metrics


ALGORITHM = Algorithm(
    name="stargan",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    translation_inputs=translation_inputs,
    evaluate=evaluate,
)
