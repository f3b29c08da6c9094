"""Progressive growing of GANs (Karras et al. 2018) under the contract, with training phases.

The networks (v101jax.models.progan) grow from 4×4 to the data's resolution by doubling. A run
is a sequence of phases (the contract's `phase` hook), each compiled once:

  phase 0           stage 0 (4×4), progan.stable_steps steps
  phase 2s − 1      stage s fades in over progan.fade_steps steps: α rises 0 → 1
  phase 2s          stage s stable (α = 1) for progan.stable_steps steps; the last stage's
                    stable phase runs to train.num_steps

α of step t in a fade is (t − t₀) / fade_steps (t₀ the fade's first step), computed from the
state's step inside the program, so a checkpoint taken mid-fade resumes with the same α.
During a fade the real images are faded too, as in the reference implementation: the batch is
average-pooled to stage s's resolution, and lerped with its 2× pooled-then-upsampled copy by
α, so D never sees reals sharper than G can make. Adam's state of both networks is reset at
the first step of every new resolution (progan.reset_optimizer; the reference's
reset_opt_for_new_lod), which also restarts the learning-rate schedule.

Loss: WGAN-GP (λ progan.gradient_penalty) with the drift term ε·E[D(x)²] (progan.drift,
1e-3) that keeps D's scores near zero; one D update per G update; G's weights averaged
(optim.ema_decay, 0.999) for sampling. Samples of every phase are nearest-upsampled to the
full resolution, so grids and evaluations have one shape throughout the run.
"""

import jax
import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm, check_no_inputs
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import (
    MultiState,
    fresh_optimizer_where,
    gradient_step,
    sampling_params,
)
from v101jax.data import sample_shape
from v101jax.data.pipeline import TOY_SOURCES
from v101jax.gan import losses, pair
from v101jax.models.progan import (
    ProDiscriminator,
    ProGenerator,
    downsample,
    resolution,
    upsample,
)


def num_stages(config) -> int:
    return len(config.model.widths)


def phase_stage(phase: int) -> tuple[int, bool]:
    """(stage, fading) of a phase index."""
    return (phase + 1) // 2, phase % 2 == 1


def phase_start(config, phase: int) -> int:
    """The first step of `phase`."""
    p = config.progan
    stage, fading = phase_stage(phase)
    if stage == 0:
        return 0
    fade_start = p.stable_steps + (stage - 1) * (p.fade_steps + p.stable_steps)
    return fade_start if fading else fade_start + p.fade_steps


def phase(config, step: int) -> int:
    """The phase of `step` (see the module docstring)."""
    last = 2 * (num_stages(config) - 1)
    return next(p for p in range(last, -1, -1) if step >= phase_start(config, p))


def alpha_at(config, phase: int, step):
    """α of `step` (an int or a traced scalar) in `phase`: 1 outside fades."""
    if not phase_stage(phase)[1]:
        return jnp.float32(1.0)
    start = phase_start(config, phase)
    progress = (jnp.asarray(step, jnp.float32) - start) / config.progan.fade_steps
    return jnp.clip(progress, 0.0, 1.0)


def make_networks(config):
    m = config.model
    channels = sample_shape(config.data)[-1]
    gen = ProGenerator(widths=tuple(m.widths), channels=channels)
    disc = ProDiscriminator(widths=tuple(m.widths), group_size=m.minibatch_std)
    return gen, disc


def validate_resolutions(config, name: str):
    """ConfigError naming the field when `name`'s networks (one entry of model.widths per
    resolution from 4×4, ProGAN's D) do not fit the data: toy data, widths that end at another
    size than the images', or a minibatch-stddev group that does not divide the batch."""
    m, data = config.model, config.data
    if data.source in TOY_SOURCES:
        raise ConfigError(f"{name} needs image data, not data.source={data.source!r}")
    size = sample_shape(data)[0]
    top = resolution(len(m.widths) - 1)
    if not m.widths or size != top:
        raise ConfigError(
            f"model.widths has {len(m.widths)} resolutions, which reach {top}×{top}; the "
            f"data is {size}×{size}. Give one width per doubling from 4×4 (data.pad pads "
            "Fashion-MNIST's 28×28 to 32×32)"
        )
    if m.minibatch_std < 1 or data.batch_size % m.minibatch_std:
        raise ConfigError(
            f"model.minibatch_std={m.minibatch_std} (D's group size) must be ≥ 1 and divide "
            f"data.batch_size={data.batch_size}"
        )


def validate(config):
    """ConfigError naming the field for values ProGAN cannot use."""
    p = config.progan
    validate_resolutions(config, "ProGAN")
    if p.stable_steps < 1 or p.fade_steps < 1:
        raise ConfigError(
            f"progan.stable_steps={p.stable_steps} and progan.fade_steps={p.fade_steps} "
            "must be ≥ 1"
        )
    if p.gradient_penalty < 0 or p.drift < 0:
        raise ConfigError("progan.gradient_penalty and progan.drift must be ≥ 0")


def init(config, rng, example_batch) -> MultiState:
    """Both networks at their full size (every stage's parameters), optimisers, G's EMA."""
    validate(config)
    gen_model, disc_model = make_networks(config)
    g_key, d_key = jax.random.split(rng)
    x = example_batch["x"]
    z = jnp.zeros((x.shape[0], config.model.latent_dim), jnp.float32)
    return pair.generator_and_discriminator(
        config,
        gen_model,
        gen_model.init(g_key, z),
        disc_model,
        disc_model.init(d_key, x),
    )


def reals_at(config, x, stage: int, alpha):
    """The real batch [B, H, W, C] as D sees it in `stage`: average-pooled to the stage's
    resolution and, while the stage fades in (α < 1), lerped towards its pooled-then-upsampled
    copy, as G's output is."""
    for _ in range(num_stages(config) - 1 - stage):
        x = downsample(x)
    if stage > 0:
        coarse = upsample(downsample(x))
        x = coarse + alpha * (x - coarse)
    return x


def to_full_resolution(config, images, stage: int):
    """Nearest-upsamples a stage's images to the last stage's resolution."""
    for _ in range(num_stages(config) - 1 - stage):
        images = upsample(images)
    return images


def train_step(config, state: MultiState, batch, rng, *, phase: int):
    """One D update (WGAN-GP + drift), then one G update, at the phase's stage and α.

    Keys: fold_in(rng, step) split into D's fakes, the penalty's interpolates and G's z.
    """
    p = config.progan
    stage, fading = phase_stage(phase)
    gen, disc = state["gen"], state["disc"]
    step = state.step
    alpha = alpha_at(config, phase, step)
    if fading and p.reset_optimizer:
        first = step == phase_start(config, phase)
        gen, disc = (
            fresh_optimizer_where(first, gen),
            fresh_optimizer_where(first, disc),
        )
    d_key, gp_key, g_key = jax.random.split(jax.random.fold_in(rng, step), 3)
    real = reals_at(config, batch["x"], stage, alpha)
    b = real.shape[0]
    latent = (b, config.model.latent_dim)

    def generate(params, key):
        z = jax.random.normal(key, latent, jnp.float32)
        return gen.apply_fn({"params": params}, z, stage, alpha)

    def score(params, x):
        return disc.apply_fn({"params": params}, x, stage, alpha)

    fake = jax.lax.stop_gradient(generate(gen.params, d_key))

    def d_loss_fn(params):
        loss, parts = losses.progressive_critic_loss(
            lambda v: score(params, v),
            real,
            fake,
            gp_key,
            gradient_weight=p.gradient_penalty,
            drift=p.drift,
        )
        return loss, {"scalars": {"d_loss": loss, **parts}}

    disc, d_metrics, _ = gradient_step(disc, d_loss_fn)

    def g_loss_fn(params):
        loss = -jnp.mean(score(disc.params, generate(params, g_key)))
        return loss, {"scalars": {"g_loss": loss}}

    gen, g_metrics, _ = gradient_step(gen, g_loss_fn)
    metrics = pair.step_metrics(d_metrics, g_metrics, gen, disc)
    metrics["alpha"] = alpha
    metrics["resolution"] = jnp.float32(resolution(stage))
    return state.replace_networks(gen=gen, disc=disc), metrics


def sample(
    config, state: MultiState, rng, num_samples: int, *, inputs=None, phase: int
):
    """G(z), z ~ N(0, I), at the phase's stage and the α of the state's step, with G's EMA
    weights unless config.sample.use_ema is off; NHWC in [-1, 1] at the full resolution."""
    check_no_inputs(config, inputs)
    stage, _ = phase_stage(phase)
    gen = state["gen"]
    alpha = alpha_at(config, phase, state.step)
    z = jax.random.normal(rng, (num_samples, config.model.latent_dim), jnp.float32)
    params = sampling_params(gen, config.sample.use_ema)
    images = gen.apply_fn({"params": params}, z, stage, alpha)
    return to_full_resolution(config, images, stage)


ALGORITHM = Algorithm(
    name="progan",
    init=init,
    train_step=train_step,
    sample=sample,
    phase=phase,
)
