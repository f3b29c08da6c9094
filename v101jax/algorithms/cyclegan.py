"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation with cycle consistency.

Two generators, G: A → B and F: B → A, and two discriminators, D_A (real A vs F(b)) and D_B
(real B vs G(a)), on unpaired batches {"a": images of domain A, "b": images of domain B}
(`data.source = "fashion_domains"`: two Fashion-MNIST classes, sneaker ↔ ankle boot by
default). G's objective, D frozen:

    L_G = L_LSGAN(D_B(G(a)), 1) + L_LSGAN(D_A(F(b)), 1)
        + λ_cyc · (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁)
        + λ_id · λ_cyc · (‖G(b) − b‖₁ + ‖F(a) − a‖₁)

then each discriminator's ½ · (E(D(real) − 1)² + E D(fake)²), its fakes drawn through an image
pool of 50 past fakes (v101jax.gan.image_pool). As in the paper and its code: LSGAN losses,
λ_cyc = 10 (`cyclegan.cycle_weight`), λ_id = 0.5 (`cyclegan.identity_weight`, relative to
λ_cyc), one Adam (2e-4, β₁ = 0.5) for both generators and one for both discriminators, the
rate constant for the first half of training and decaying linearly to 0 over the second
(`optim.schedule = "linear_decay"`), kernels N(0, 0.02). `cyclegan.cycle_weight = 0` removes
the cycle term (the ablation whose failure the learning test checks).

State: MultiState(networks={"gen": params {"g_ab": G, "g_ba": F}, "disc": params {"d_a",
"d_b"}}, primary="gen"); the discriminators' image pools are the disc state's model_state,
so they are checkpointed and a resumed run is exact. One train_step = one generator update,
then one discriminator update on the fakes of that generator pass (the reference's order).

Sampling takes inputs {"source": images [N, H, W, C], "domain": int32 [N]}: the domain each
image is translated *into*, 1 = B (by G), 0 = A (by F); deterministic. `evaluate` reports on a
held-out batch {"a", "b"} the cycle reconstruction L1 in both directions and, on Fashion-MNIST
domains, the fraction of translations that the shipped classifier assigns to the target
domain's class (`accuracy_ab`, `accuracy_ba`).
"""

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
from v101jax.data import is_unpaired
from v101jax.gan import image_pool, losses, pair
from v101jax.metrics import fashion_classifier
from v101jax.models.cyclegan import ResNetGenerator
from v101jax.models.pix2pix import PatchDiscriminator

GAN_LOSS = "lsgan"
DOMAIN_A, DOMAIN_B = 0, 1  # values of inputs["domain"]: the domain to translate into


def generator_adversarial_loss(scores):
    """E(D(G(a)) − 1)², the reference's MSE to the real label (twice v101jax.gan.losses'
    ½-scaled LSGAN generator loss; its discriminator loss ½E(D(x) − 1)² + ½E D(G)² is already
    the reference's halved one)."""
    return 2.0 * losses.generator_loss(GAN_LOSS, scores)


def l1_loss(x, y):
    """Mean absolute difference over every pixel and channel."""
    return jnp.mean(jnp.abs(x - y))


def cycle_loss(real, reconstructed):
    """‖F(G(a)) − a‖₁ (or ‖G(F(b)) − b‖₁) per pixel."""
    return l1_loss(reconstructed, real)


def identity_loss(image, mapped):
    """‖G(b) − b‖₁: a generator fed an image of its output domain should leave it alone."""
    return l1_loss(mapped, image)


def make_networks(config, channels: int):
    """(generator, discriminator): one module of each, applied with each direction's
    parameters."""
    m, c = config.model, config.cyclegan
    dtype = precision.compute_dtype(m.dtype)
    gen = ResNetGenerator(
        out_channels=channels, channels=m.channels, num_blocks=c.res_blocks, dtype=dtype
    )
    disc = PatchDiscriminator(
        channels=m.channels, num_strided=c.disc_layers, dtype=dtype
    )
    return gen, disc


def validate(config, image_shape):
    """ConfigError naming the field for values CycleGAN cannot use (images [H, W, C])."""
    c = config.cyclegan
    if not is_unpaired(config.data):
        raise ConfigError(
            f"algorithm 'cyclegan' needs an unpaired two-domain data.source "
            f"(fashion_domains, unpaired_folder, tfds_domains), not {config.data.source!r}"
        )
    require_non_negative(
        config, "cyclegan", ("cycle_weight", "identity_weight", "adversarial_weight")
    )
    if c.pool_size < 0:
        raise ConfigError(f"cyclegan.pool_size={c.pool_size} must be ≥ 0 (0 = no pool)")
    if c.res_blocks < 0 or c.disc_layers < 1:
        raise ConfigError(
            f"cyclegan.res_blocks={c.res_blocks} must be ≥ 0 and "
            f"cyclegan.disc_layers={c.disc_layers} ≥ 1"
        )
    for size in image_shape[:2]:
        if size % 4 or size % 2**c.disc_layers:
            raise ConfigError(
                f"image size {size} must be a multiple of 4 (the generator's two stride-2 "
                f"levels) and of 2^cyclegan.disc_layers = {2**c.disc_layers}"
            )


def init(config, rng, example_batch) -> MultiState:
    """Builds G, F, D_A, D_B, their two Adam optimisers and the two empty image pools."""
    a, b = example_batch["a"], example_batch["b"]
    validate(config, a.shape[1:])
    gen_model, disc_model = make_networks(config, a.shape[-1])
    k_ab, k_ba, k_da, k_db = jax.random.split(rng, 4)
    gen_params = {
        "g_ab": gen_model.init(k_ab, a)["params"],
        "g_ba": gen_model.init(k_ba, b)["params"],
    }
    disc_params = {
        "d_a": disc_model.init(k_da, None, a, train=False)["params"],
        "d_b": disc_model.init(k_db, None, b, train=False)["params"],
    }
    pool_size = config.cyclegan.pool_size
    pools = {
        "pool_a": image_pool.init_pool(pool_size, a.shape[1:]),
        "pool_b": image_pool.init_pool(pool_size, b.shape[1:]),
    }
    # D's model state is the two image pools.
    return pair.generator_and_discriminator(
        config,
        gen_model,
        {"params": gen_params},
        disc_model,
        {"params": disc_params, **pools},
    )


def translate(gen: TrainState, params, images, into: int):
    """G(images) into domain B (into = 1) or F(images) into A (into = 0)."""
    name = "g_ab" if into == DOMAIN_B else "g_ba"
    return gen.apply_fn({"params": params[name]}, images)


def _score(disc: TrainState, params, name: str, images):
    return disc.apply_fn({"params": params[name]}, None, images, train=True).reshape(-1)


def generator_step(config, gen: TrainState, disc: TrainState, batch):
    """One update of G and F; also returns their (pre-update) fakes for the discriminators."""
    c = config.cyclegan
    a, b = batch["a"], batch["b"]

    def loss_fn(params):
        fake_b = translate(gen, params, a, DOMAIN_B)
        fake_a = translate(gen, params, b, DOMAIN_A)
        adv_ab = generator_adversarial_loss(_score(disc, disc.params, "d_b", fake_b))
        adv_ba = generator_adversarial_loss(_score(disc, disc.params, "d_a", fake_a))
        cyc_a = cycle_loss(a, translate(gen, params, fake_b, DOMAIN_A))
        cyc_b = cycle_loss(b, translate(gen, params, fake_a, DOMAIN_B))
        loss = c.adversarial_weight * (adv_ab + adv_ba) + c.cycle_weight * (
            cyc_a + cyc_b
        )
        scalars = {
            "g_adversarial_ab": adv_ab,
            "g_adversarial_ba": adv_ba,
            "cycle_l1_a": cyc_a,
            "cycle_l1_b": cyc_b,
        }
        if c.identity_weight > 0:  # two generator passes saved when the term is off
            id_b = identity_loss(b, translate(gen, params, b, DOMAIN_B))
            id_a = identity_loss(a, translate(gen, params, a, DOMAIN_A))
            loss = loss + c.identity_weight * c.cycle_weight * (id_a + id_b)
            scalars.update(identity_l1_a=id_a, identity_l1_b=id_b)
        scalars["g_loss"] = loss
        return loss, {"scalars": scalars, "fakes": (fake_a, fake_b)}

    gen, metrics, aux = gradient_step(gen, loss_fn)
    fake_a, fake_b = jax.tree.map(jax.lax.stop_gradient, aux["fakes"])
    return gen, metrics, fake_a, fake_b


def discriminator_step(config, disc: TrainState, batch, fake_a, fake_b, rng):
    """One update of D_A and D_B; the fakes they see pass through their image pools."""
    del config
    key_a, key_b = jax.random.split(rng)
    pool_a, shown_a = image_pool.query_pool(disc.model_state["pool_a"], fake_a, key_a)
    pool_b, shown_b = image_pool.query_pool(disc.model_state["pool_b"], fake_b, key_b)

    def loss_fn(params):
        scalars = {}
        total = 0.0
        for name, real, fake in (
            ("a", batch["a"], shown_a),
            ("b", batch["b"], shown_b),
        ):
            real_scores = _score(disc, params, f"d_{name}", real)
            fake_scores = _score(disc, params, f"d_{name}", fake)
            loss = losses.discriminator_loss(GAN_LOSS, real_scores, fake_scores)
            total = total + loss
            scalars[f"d_loss_{name}"] = loss
            scalars[f"d_real_{name}"] = jnp.mean(real_scores)
            scalars[f"d_fake_{name}"] = jnp.mean(fake_scores)
        scalars["d_loss"] = total
        return total, {
            "scalars": scalars,
            "model_state": {"pool_a": pool_a, "pool_b": pool_b},
        }

    disc, metrics, _ = gradient_step(disc, loss_fn)
    return disc, metrics


def train_step(config, state: MultiState, batch, rng):
    """One generator update, then one discriminator update; pool keys from
    fold_in(rng, step)."""
    key = jax.random.fold_in(rng, state.step)
    gen, g_metrics, fake_a, fake_b = generator_step(
        config, state["gen"], state["disc"], batch
    )
    disc, d_metrics = discriminator_step(
        config, state["disc"], batch, fake_a, fake_b, key
    )
    metrics = pair.step_metrics(d_metrics, g_metrics, gen, disc)
    return state.replace_networks(gen=gen, disc=disc), metrics


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """Translations of inputs={"source": [N, H, W, C], "domain": int32 [N]} into each
    image's target domain (1 = B by G, 0 = A by F): images NHWC in [-1, 1].

    Both generators run on the whole batch and each image takes its direction's output (one
    program for any mix of directions). Deterministic; EMA weights when config.sample.use_ema.
    """
    del rng
    source, domain = take_inputs(config, inputs, "source", "domain")
    if source is None or domain is None:
        raise ConfigError(
            "cyclegan translates images: sample needs inputs={'source': images "
            "[N, H, W, C], 'domain': int32 [N] (1 = into B, 0 = into A)}"
        )
    if (
        source.ndim != 4
        or source.shape[0] != num_samples
        or domain.shape != (num_samples,)
    ):
        raise ConfigError(
            f"inputs have shapes source {tuple(source.shape)}, domain "
            f"{tuple(domain.shape)}; expected [{num_samples}, H, W, C] and [{num_samples}]"
        )
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    source = jnp.asarray(source, jnp.float32)
    into_b = translate(gen, params, source, DOMAIN_B)
    into_a = translate(gen, params, source, DOMAIN_A)
    return jnp.where((domain == DOMAIN_B)[:, None, None, None], into_b, into_a)


def sampling_inputs(config, num_samples: int, held_out):
    """The first ⌈n/2⌉ held-out A images translated into B, then the first ⌊n/2⌋ B images
    into A."""
    to_b = -(-num_samples // 2)
    to_a = num_samples - to_b
    data = held_out(to_b)
    source = jnp.concatenate([data["a"][:to_b], data["b"][:to_a]])
    domain = jnp.concatenate(
        [jnp.full(to_b, DOMAIN_B, jnp.int32), jnp.full(to_a, DOMAIN_A, jnp.int32)]
    )
    return {"source": source, "domain": domain}


def translation_inputs(config, source, target_domain):
    """{"source", "domain"}: every image into `target_domain` (1 = B, the default; 0 = A)."""
    domain = DOMAIN_B if target_domain is None else target_domain
    if domain not in (DOMAIN_A, DOMAIN_B):
        raise ConfigError(
            f"cyclegan has domains 0 (A) and 1 (B); --target_domain={target_domain}"
        )
    return {"source": source, "domain": jnp.full(len(source), domain, jnp.int32)}


def evaluate(config, state: MultiState, batch, rng):
    """On a held-out batch {"a", "b"}: cycle L1 both ways (cycle_l1_a = ‖F(G(a)) − a‖₁) and,
    for Fashion-MNIST domains, the shipped classifier's accuracy that G(a) is of B's class
    (accuracy_ab) and F(b) of A's (accuracy_ba)."""
    del rng
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    a, b = batch["a"], batch["b"]
    fake_b = translate(gen, params, a, DOMAIN_B)
    fake_a = translate(gen, params, b, DOMAIN_A)
    metrics = {
        "cycle_l1_a": cycle_loss(a, translate(gen, params, fake_b, DOMAIN_A)),
        "cycle_l1_b": cycle_loss(b, translate(gen, params, fake_a, DOMAIN_B)),
    }
    if config.data.source == "fashion_domains":  # two Fashion-MNIST classes
        class_a, class_b = config.data.domain_classes
        for name, images, want in (("ab", fake_b, class_b), ("ba", fake_a, class_a)):
            predicted = jnp.argmax(fashion_classifier.class_logits(images), axis=-1)
            metrics[f"accuracy_{name}"] = jnp.mean(predicted == want)
    return metrics


ALGORITHM = Algorithm(
    name="cyclegan",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    translation_inputs=translation_inputs,
    evaluate=evaluate,
)
