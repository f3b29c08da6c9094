"""Adversarial training (GAN, DCGAN, LSGAN, hinge, WGAN, WGAN-GP, cGAN, ACGAN) under the contract.

One module serves every variant; `config.gan` picks the loss, the penalties and the
stabilisers, `config.model` the networks:

  gan.loss            minimax | non_saturating | lsgan | hinge | wasserstein (v101jax.gan.losses)
  gan.clip_value      > 0: WGAN weight clipping of every critic parameter to [−c, c]
  gan.gradient_penalty  λ of the WGAN-GP penalty (10 in the paper); 0 = off
  gan.r1_gamma        γ of the R1 penalty (γ/2 · E‖∇D(x)‖²); 0 = off
  gan.n_critic        discriminator updates per generator update
  gan.unroll_critic   unroll those updates in the compiled program (else a lax.scan)
  gan.unroll_steps    k > 0: unrolled GAN (Metz et al. 2017), G's loss taken through k
                      look-ahead D updates, differentiated through (`lookahead_discriminator`)
  gan.real_label      one-sided label smoothing target (cross-entropy losses)
  gan.feature_matching  the generator matches D's mean features instead of the adversarial loss
  gan.conditioning    none | concat (cGAN) | projection (projection D) | acgan (class head)
  model.spectral_norm, model.minibatch_std, model.minibatch_discrimination (+ its
  minibatch_kernels B and minibatch_kernel_dim C), optim (G) / d_optim (D) learning rates (TTUR),
  optim.ema_decay (EMA of the generator's weights; sampling uses it)

The state is a MultiState with the networks "gen" and "disc"; `state.step` is the
generator's step. One
`train_step` call runs the n_critic discriminator updates (a `lax.scan`) and then the
generator update. `data.batch_size` real examples are used per generator step: the critic
updates take consecutive slices of batch_size / n_critic each (fresh real data every critic
step, as in WGAN's algorithm 1), and the generator update uses the same slice size.
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
from v101jax.data import num_classes, sample_shape
from v101jax.data.pipeline import TOY_SOURCES
from v101jax.gan import critic, diagnostics, losses, pair
from v101jax.models import gan as nets

CONDITIONINGS = ("none", "concat", "projection", "acgan")
# A constant key: the diversity metric follows one fixed batch of z through training.
_DIVERSITY_KEY = 20141210


def is_conditional(config) -> bool:
    return config.gan.conditioning != "none"


def num_sample_classes(config) -> int:
    """K for conditional configs (`sample` takes labels in 0…K−1), else 0."""
    return num_classes(config.data) if is_conditional(config) else 0


def make_networks(config):
    """(generator, discriminator) modules from explicit config fields."""
    m, g = config.model, config.gan
    dtype = precision.compute_dtype(m.dtype)
    k = num_classes(config.data) if is_conditional(config) else 0
    g_cond = "none" if g.conditioning == "none" else "concat"
    d_cond = g.conditioning if g.conditioning in ("concat", "projection") else "none"
    aux_classes = k if g.conditioning == "acgan" else 0
    shared = {"num_classes": k, "embed_dim": m.embed_dim, "dtype": dtype}
    d_options = {
        "aux_classes": aux_classes,
        "spectral_norm": m.spectral_norm,
        "minibatch_std": m.minibatch_std,
        "minibatch_discrimination": m.minibatch_discrimination,
        "minibatch_kernels": m.minibatch_kernels,
        "minibatch_kernel_dim": m.minibatch_kernel_dim,
    }
    if m.name == "mlp":
        gen = nets.MLPGenerator(
            out_dim=sample_shape(config.data)[-1],
            hidden=m.hidden,
            num_layers=m.num_layers,
            conditioning=g_cond,
            **shared,
        )
        disc = nets.MLPDiscriminator(
            hidden=m.hidden,
            num_layers=m.num_layers,
            conditioning=d_cond,
            **shared,
            **d_options,
        )
        return gen, disc
    if m.name == "dcgan":
        size, _, channels = sample_shape(config.data)
        gen = nets.DCGANGenerator(
            image_size=size,
            out_channels=channels,
            channels=m.channels,
            conditioning=g_cond,
            batch_stats_at_sampling=m.batch_stats_at_sampling,
            **shared,
        )
        disc = nets.DCGANDiscriminator(
            channels=m.channels, conditioning=d_cond, **shared, **d_options
        )
        return gen, disc
    raise ConfigError(f"model.name={m.name!r} is not one of: mlp, dcgan")


def validate(config):
    """ConfigError naming the field for values the GAN cannot use."""
    g, m = config.gan, config.model
    if g.loss not in losses.LOSSES:
        raise ConfigError(
            f"gan.loss={g.loss!r} is not one of: {', '.join(losses.LOSSES)}"
        )
    if g.conditioning not in CONDITIONINGS:
        raise ConfigError(
            f"gan.conditioning={g.conditioning!r} is not one of: {', '.join(CONDITIONINGS)}"
        )
    if g.n_critic < 1:
        raise ConfigError(f"gan.n_critic={g.n_critic} must be ≥ 1")
    if g.get("unroll_steps", 0) < 0:
        raise ConfigError(f"gan.unroll_steps={g.unroll_steps} must be ≥ 0 (0 = off)")
    if config.data.batch_size % g.n_critic:
        raise ConfigError(
            f"data.batch_size={config.data.batch_size} must be a multiple of "
            f"gan.n_critic={g.n_critic}"
        )
    if not 0.0 < g.real_label <= 1.0:
        raise ConfigError(f"gan.real_label={g.real_label} must be in (0, 1]")
    if g.real_label != 1.0 and g.loss not in losses.CROSS_ENTROPY_LOSSES:
        raise ConfigError(
            f"gan.real_label={g.real_label} (label smoothing) needs gan.loss in "
            f"{losses.CROSS_ENTROPY_LOSSES}, not {g.loss!r}"
        )
    require_non_negative(
        config, "gan", ("clip_value", "gradient_penalty", "r1_gamma", "aux_weight")
    )
    critic_batch = config.data.batch_size // g.n_critic
    if m.minibatch_std < 0 or (m.minibatch_std and critic_batch % m.minibatch_std):
        raise ConfigError(
            f"model.minibatch_std={m.minibatch_std} must be ≥ 0 and divide the critic batch "
            f"data.batch_size / gan.n_critic = {critic_batch}"
        )
    group = m.minibatch_discrimination
    if group < 0 or (group and critic_batch % group):
        raise ConfigError(
            f"model.minibatch_discrimination={group} must be ≥ 0 and divide the critic "
            f"batch data.batch_size / gan.n_critic = {critic_batch}"
        )
    if group and min(m.minibatch_kernels, m.minibatch_kernel_dim) < 1:
        raise ConfigError(
            f"model.minibatch_kernels={m.minibatch_kernels} and model.minibatch_kernel_dim="
            f"{m.minibatch_kernel_dim} must be ≥ 1"
        )
    if g.diversity_samples == 1 or g.diversity_samples < 0:
        raise ConfigError(
            f"gan.diversity_samples={g.diversity_samples} must be 0 (off) or ≥ 2"
        )
    if m.name == "dcgan" and config.data.source in TOY_SOURCES:
        raise ConfigError(
            f"model.name='dcgan' needs image data, not data.source={config.data.source!r}"
        )


def init(config, rng, example_batch) -> MultiState:
    """Builds both networks, their optimisers and the generator's EMA."""
    validate(config)
    gen_model, disc_model = make_networks(config)
    g_key, d_key = jax.random.split(rng)
    x, labels = example_batch["x"], example_batch["label"]
    critic_batch = x.shape[0] // config.gan.n_critic
    x, labels = x[:critic_batch], labels[:critic_batch]
    z = jnp.zeros((critic_batch, config.model.latent_dim), jnp.float32)
    g_vars = gen_model.init(g_key, z, labels, train=False)
    d_vars = disc_model.init(d_key, x, labels, train=False)
    return pair.generator_and_discriminator(
        config,
        gen_model,
        g_vars,
        disc_model,
        d_vars,
        disc_updates_per_step=config.gan.n_critic,
    )


def apply_network(ts: TrainState, params, *args, train: bool, **kwargs):
    """(output, updated mutable collections) of one network at `params`."""
    variables = {"params": params, **ts.model_state}
    if not ts.model_state:
        return ts.apply_fn(variables, *args, train=train, **kwargs), ts.model_state
    # Batch norm (G) and spectral norm (D) write their statistics when training; the
    # collections are always mutable so one call signature serves every mode.
    return ts.apply_fn(
        variables, *args, train=train, mutable=list(ts.model_state), **kwargs
    )


def _latents_and_labels(config, rng, batch_size: int):
    z_key, y_key = jax.random.split(rng)
    z = jax.random.normal(z_key, (batch_size, config.model.latent_dim), jnp.float32)
    if is_conditional(config):
        labels = jax.random.randint(y_key, (batch_size,), 0, num_classes(config.data))
    else:
        labels = jnp.zeros((batch_size,), jnp.int32)
    return z, labels


def discriminator_step(
    config, gen: TrainState, disc: TrainState, batch, rng, *, gen_params=None
):
    """One discriminator update on a real batch and as many fresh generated examples.

    With `gen_params` (an unrolled GAN's look-ahead) the examples are G's at those
    parameters and the updated discriminator is differentiable in them; otherwise G's own
    parameters make them, as constants.
    """
    g = config.gan
    real, labels = batch["x"], batch["label"]
    b = real.shape[0]
    fake_key, gp_key = jax.random.split(rng)
    z, fake_labels = _latents_and_labels(config, fake_key, b)
    if gen_params is None:
        fake, _ = apply_network(gen, gen.params, z, fake_labels, train=True)
        fake = jax.lax.stop_gradient(fake)
    else:
        fake, _ = apply_network(gen, gen_params, z, fake_labels, train=True)

    def loss_fn(params):
        # Real and generated examples in one call (D has no batch statistics to mix).
        x = jnp.concatenate([real, fake])
        y = jnp.concatenate([labels, fake_labels])
        (scores, aux), new_state = apply_network(disc, params, x, y, train=True)
        real_scores, fake_scores = scores[:b], scores[b:]
        loss = losses.discriminator_loss(
            g.loss, real_scores, fake_scores, real_label=g.real_label
        )
        scalars = {
            "d_adversarial_loss": loss,
            "d_real": jnp.mean(real_scores),
            "d_fake": jnp.mean(fake_scores),
        }
        if g.loss == "wasserstein":
            # E D(x) − E D(G(z)): the critic's estimate of W(P_r, P_g) (up to its constant).
            scalars["wasserstein_estimate"] = jnp.mean(real_scores) - jnp.mean(
                fake_scores
            )

        def score_fn(v):
            return apply_network(disc, params, v, labels, train=False)[0][0]

        if g.gradient_penalty > 0:
            gp = losses.gradient_penalty(score_fn, real, fake, gp_key)
            loss = loss + g.gradient_penalty * gp
            scalars["gradient_penalty"] = gp
        if g.r1_gamma > 0:
            r1 = losses.r1_penalty(score_fn, real)
            loss = loss + 0.5 * g.r1_gamma * r1
            scalars["r1_penalty"] = r1
        if g.conditioning == "acgan":
            # ACGAN: D maximises log P(C = c | x) on real and generated examples.
            class_logits = aux["class_logits"]
            class_loss = losses.classification_loss(class_logits, y)
            loss = loss + g.aux_weight * class_loss
            scalars["d_class_loss"] = class_loss
            scalars["real_class_accuracy"] = jnp.mean(
                jnp.argmax(class_logits[:b], -1) == labels
            )
        scalars["d_loss"] = loss
        return loss, {"scalars": scalars, "model_state": new_state}

    disc, metrics, _ = gradient_step(disc, loss_fn)
    if g.clip_value > 0:
        disc = disc.replace(
            params=jax.tree.map(
                lambda p: jnp.clip(p, -g.clip_value, g.clip_value), disc.params
            )
        )
    return disc, metrics


def lookahead_discriminator(
    config, gen: TrainState, gen_params, disc: TrainState, batch, rng
) -> TrainState:
    """`disc` after gan.unroll_steps = k further updates against G at `gen_params`: the
    unrolled GAN's U^k(θ_D) (Metz et al. 2017, eq. 6–7), differentiable in `gen_params`
    through every update, its optimiser's included.

    Each look-ahead update is an ordinary `discriminator_step` on the generator step's real
    batch, with fresh generated examples (key i of `rng` for update i). The returned
    discriminator only scores G's examples; the discriminator that trains keeps its own
    updates.
    """

    def update(d, key):
        return discriminator_step(config, gen, d, batch, key, gen_params=gen_params)[0]

    keys = jax.random.split(rng, config.gan.unroll_steps)
    if config.gan.unroll_critic:  # as the critic updates: in the program, or a scan
        for key in keys:
            disc = update(disc, key)
        return disc
    return jax.lax.scan(lambda d, key: (update(d, key), None), disc, keys)[0]


def generator_loss(config, gen: TrainState, disc: TrainState, batch, rng, params):
    """(G's loss at `params`, {"scalars", "model_state"}) against `disc`, or, with
    gan.unroll_steps > 0, against its look-ahead (`lookahead_discriminator`)."""
    g = config.gan
    b = batch["x"].shape[0]
    if g.get("unroll_steps", 0):
        rng, unroll_key = jax.random.split(rng)
        disc = lookahead_discriminator(config, gen, params, disc, batch, unroll_key)
    z, fake_labels = _latents_and_labels(config, rng, b)
    fake, new_state = apply_network(gen, params, z, fake_labels, train=True)
    (scores, aux), _ = apply_network(disc, disc.params, fake, fake_labels, train=False)
    if g.feature_matching:
        (_, real_aux), _ = apply_network(
            disc, disc.params, batch["x"], batch["label"], train=False
        )
        loss = losses.feature_matching_loss(
            jax.lax.stop_gradient(real_aux["features"]), aux["features"]
        )
    else:
        loss = losses.generator_loss(g.loss, scores)
    scalars = {"g_adversarial_loss": loss}
    if g.conditioning == "acgan":
        class_loss = losses.classification_loss(aux["class_logits"], fake_labels)
        loss = loss + g.aux_weight * class_loss
        scalars["g_class_loss"] = class_loss
    scalars["g_loss"] = loss
    return loss, {"scalars": scalars, "model_state": new_state}


def generator_step(config, gen: TrainState, disc: TrainState, batch, rng):
    """One generator update against the (just updated) discriminator."""
    gen, metrics, _ = gradient_step(
        gen, lambda params: generator_loss(config, gen, disc, batch, rng, params)
    )
    return gen, metrics


def diversity_metrics(config, gen: TrainState, real):
    """Mean pairwise distance of G's samples of one fixed z batch, and its ratio to the data's.

    A ratio far below 1 flags mode collapse (see v101jax.gan.diagnostics).
    """
    n = config.gan.diversity_samples
    z, _ = _latents_and_labels(config, jax.random.PRNGKey(_DIVERSITY_KEY), n)
    fake, _ = apply_network(
        gen, gen.params, z, _labels_or_zeros(config, n), train=False
    )
    diversity = diagnostics.mean_pairwise_distance(fake)
    return {
        "diversity": diversity,
        "diversity_ratio": diversity / diagnostics.mean_pairwise_distance(real),
    }


def train_step(config, state: MultiState, batch, rng):
    """n_critic discriminator updates, then one generator update; one call, pure.

    The critic updates are unrolled in the program (gan.unroll_critic) or a `lax.scan`.

    Keys: fold_in(rng, generator step), split into the critic and generator purposes; critic
    update i folds in i.
    """
    gen, disc = state["gen"], state["disc"]
    d_key, g_key = jax.random.split(jax.random.fold_in(rng, state.step))

    def critic_update(disc, batch_slice, key):
        return discriminator_step(config, gen, disc, batch_slice, key)

    disc, d_scalars, last_slice = critic.critic_updates(
        critic_update,
        disc,
        batch,
        config.gan.n_critic,
        d_key,
        unroll=config.gan.unroll_critic,
    )
    gen, g_scalars = generator_step(config, gen, disc, last_slice, g_key)
    metrics = pair.step_metrics(d_scalars, g_scalars, gen, disc)
    if config.gan.diversity_samples:
        metrics.update(diversity_metrics(config, gen, batch["x"]))
    return state.replace_networks(gen=gen, disc=disc), metrics


def sampling_inputs(config, num_samples: int, held_out):
    """{"labels": 0, 1, …, K−1, 0, …} for conditional models; None otherwise."""
    del held_out  # labels only
    if not is_conditional(config):
        return None
    k = num_classes(config.data)
    return {"labels": jnp.arange(num_samples, dtype=jnp.int32) % k}


def _labels_or_zeros(config, num_samples: int):
    """G's label input: 0, 1, …, K−1, 0, … for conditional models (zeros otherwise)."""
    inputs = sampling_inputs(config, num_samples, None)
    if inputs is None:
        return jnp.zeros((num_samples,), jnp.int32)
    return inputs["labels"]


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """G(z) for z ~ N(0, I) with the generator's EMA weights unless config.sample.use_ema is
    off: images NHWC in [-1, 1] (points [N, D] for 2-D data).

    inputs: {"labels": int [num_samples]} classes of a conditional model (default 0, 1, …,
    K−1, 0, …).
    """
    (labels,) = take_inputs(config, inputs, "labels")
    if labels is None:
        labels = _labels_or_zeros(config, num_samples)
    elif not is_conditional(config):
        raise ConfigError(
            "labels need a conditional model (gan.conditioning != 'none')"
        )
    gen = state["gen"]
    z, _ = _latents_and_labels(config, rng, num_samples)
    params = sampling_params(gen, config.sample.use_ema)
    samples, _ = apply_network(
        gen, params, z, jnp.asarray(labels, jnp.int32), train=False
    )
    return samples


ALGORITHM = Algorithm(
    name="gan",
    init=init,
    train_step=train_step,
    sample=sample,
    num_sample_classes=num_sample_classes,
    sampling_inputs=sampling_inputs,
)
