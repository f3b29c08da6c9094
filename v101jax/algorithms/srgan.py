"""SRGAN (Ledig et al. 2017): SRResNet trained against a discriminator with a perceptual loss.

    L_G = λ_c · content + λ_adv · (−log D(G(x_LR)))      λ_c = srgan.content_weight (1),
                                                         λ_adv = srgan.adversarial_weight
    content = ‖s·φ(G(x_LR)) − s·φ(x_HR)‖² (srgan.content = vgg: φ a VGG layer, s the paper's
              1/12.75, srgan.feature_scale)  or  ‖G(x_LR) − x_HR‖² (srgan.content = mse)
    + srgan.pixel_weight · ‖G(x_LR) − x_HR‖²  + srgan.tv_weight · TV(G(x_LR))

The paper: VGG54 (relu5_4 of VGG-19) content, λ_adv = 10⁻³, no pixel or TV term, Adam 1e-4,
the generator initialised from the MSE-trained SRResNet. Implementations disagree
(leftthomas/SRGAN: VGG-16, + TV 2e-8, + pixel MSE; PyTorch-GAN: L1 on VGG-19 features), so
every weight is a config field. φ comes from config.perceptual: VGG-19 with converted weights,
or offline the labelled random fallback (v101jax/perceptual/features.py), whose features
are not VGG's; its parameters are a frozen entry of the state.

G is the super_resolution algorithm's network (config.sr, usually srresnet); with
srgan.generator_workdir set to a finished super_resolution run (configs/srgan.py:srresnet),
a fresh run starts from its weights (the paper's initialisation; the run's config must match
this one's sr section and data). D is SRGAN's (v101jax/models/superres.py), scoring real and
super-resolved crops in one call (its batch norm sees both). One train_step is one D update
then one G update against the new D, on one batch of photo_pairs; `sample` and `evaluate` are
super_resolution's (PSNR/SSIM on Y against bicubic), so experiments.upscale works unchanged.
"""

import jax
import jax.numpy as jnp

from v101jax.algorithms import first_stage, super_resolution
from v101jax.algorithms.contract import Algorithm, FirstStage
from v101jax.core.errors import ConfigError, require_non_negative
from v101jax.core.train_state import (
    MultiState,
    gradient_step,
    gradient_step_on_output,
    output_and_pullback,
)
from v101jax.gan import losses, pair
from v101jax.models import superres
from v101jax.perceptual import features as perceptual_features
from v101jax.perceptual import losses as perceptual_losses

GAN_LOSS = "non_saturating"  # the paper's −log D(G(x))
CONTENTS = ("vgg", "mse")
GENERATOR_HINT = "a super_resolution run (configs/srgan.py:srresnet)"


def validate(config):
    super_resolution.validate(config)
    g = config.srgan
    if g.content not in CONTENTS:
        raise ConfigError(
            f"srgan.content={g.content!r} is not one of: {', '.join(CONTENTS)}"
        )
    require_non_negative(
        config,
        "srgan",
        (
            "content_weight",
            "adversarial_weight",
            "pixel_weight",
            "tv_weight",
            "feature_scale",
        ),
    )


def resolve_generator(config):
    """`config` with srgan.generator_workdir's resolved config in srgan.generator (nothing
    to do when the workdir is empty); its network and data must be this config's."""
    if not config.srgan.generator_workdir:
        return config
    config = first_stage.resolve(
        config, "srgan", "generator", ("super_resolution",), GENERATOR_HINT
    )
    stage = config.srgan.generator
    for section, fields in (
        (
            "sr",
            ("network", "channels", "num_blocks", "batch_norm", "widths", "kernels"),
        ),
        ("data", ("downscale", "channels")),
    ):
        for field in fields:
            theirs, ours = stage[section][field], config[section][field]
            if isinstance(ours, tuple | list):
                theirs, ours = tuple(theirs), tuple(ours)
            if theirs != ours:
                raise ConfigError(
                    f"{section}.{field}={ours!r} but the generator in "
                    f"srgan.generator_workdir was trained with {theirs!r}"
                )
    return config


def load_generator(config, state: MultiState) -> MultiState:
    """The fresh `state` with G's parameters and batch statistics from the newest checkpoint
    of srgan.generator_workdir (unchanged when none is set)."""
    if not config.srgan.generator_workdir:
        return state
    stage = first_stage.resolved(config, "srgan", "generator")
    trained = first_stage.restore(
        stage, config.srgan.generator_workdir, super_resolution.init
    )
    gen = state["gen"]
    gen = gen.replace(
        params=trained.params,
        ema_params=jax.tree.map(jnp.copy, trained.params),
        model_state=trained.model_state,
    )
    return state.replace_networks(gen=gen)


def _content_module(config):
    return perceptual_features.feature_module(
        config.perceptual, (config.srgan.content_layer,)
    )


def init(config, rng, example_batch) -> MultiState:
    """G (config.optim), D (config.d_optim) and, for VGG content, φ's frozen parameters."""
    validate(config)
    source, target = example_batch["source"], example_batch["target"]
    g_key, d_key = jax.random.split(rng)
    gen_model = super_resolution.make_network(config, target.shape[-1])
    disc_model = superres.SRGANDiscriminator(
        channels=config.srgan.disc_channels,
        dense=config.srgan.disc_dense,
        batch_norm=config.srgan.disc_batch_norm,
    )
    state = pair.generator_and_discriminator(
        config,
        gen_model,
        gen_model.init(g_key, jnp.asarray(source), train=False),
        disc_model,
        disc_model.init(d_key, jnp.asarray(target), train=False),
    )
    if config.srgan.content == "vgg":
        phi = perceptual_features.feature_network(
            config.perceptual, (config.srgan.content_layer,)
        )
        state = state.replace(frozen={"features": phi.params})
    return state


def _rgb(images):
    return jnp.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def content_loss(config, state: MultiState, images, targets):
    """srgan.content's term: scaled feature MSE on φ's layer, or pixel MSE."""
    g = config.srgan
    if g.content == "mse":
        return super_resolution.pixel_loss("mse", images, targets)
    module, layer = _content_module(config), g.content_layer
    params = {"params": state["features"]}
    fake = module.apply(params, _rgb(images))[layer]
    real = jax.lax.stop_gradient(module.apply(params, _rgb(targets))[layer])
    return jnp.mean((g.feature_scale * (fake - real)) ** 2)


def _disc_forward(disc, params, images):
    variables = {"params": params, **disc.model_state}
    if not disc.model_state:
        return disc.apply_fn(variables, images, train=True), disc.model_state
    return disc.apply_fn(variables, images, train=True, mutable=list(disc.model_state))


def discriminator_step(config, state: MultiState, batch, fake):
    disc = state["disc"]
    real = batch["target"]
    b = real.shape[0]

    def loss_fn(params):
        logits, model_state = _disc_forward(disc, params, jnp.concatenate([real, fake]))
        real_logits, fake_logits = logits[:b], logits[b:]
        loss = losses.discriminator_loss(GAN_LOSS, real_logits, fake_logits)
        scalars = {
            "d_loss": loss,
            "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
            "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)),
        }
        return loss, {"scalars": scalars, "model_state": model_state}

    disc, metrics, _ = gradient_step(disc, loss_fn)
    return disc, metrics


def generator_forward(state: MultiState, batch):
    """(G(x_LR), G's new batch statistics, the pullback to G's parameter gradients)."""
    gen = state["gen"]
    return output_and_pullback(
        gen,
        lambda params, source: super_resolution.forward(
            gen, params, source, train=True
        ),
        batch["source"],
    )


def generator_step(config, state: MultiState, batch, forward=None):
    """One G update against state's D; `forward` is `generator_forward(state, batch)` when
    the step's D update has already run G (computed here when None)."""
    g = config.srgan
    gen, disc = state["gen"], state["disc"]
    images, model_state, pullback = forward or generator_forward(state, batch)

    def loss_fn(images):
        # D in training mode, as in its own step, but its statistics are not updated here.
        logits, _ = _disc_forward(disc, disc.params, images)
        adversarial = losses.generator_loss(GAN_LOSS, logits)
        content = content_loss(config, state, images, batch["target"])
        pixel = super_resolution.pixel_loss("mse", images, batch["target"])
        tv = perceptual_losses.total_variation(images)
        loss = (
            g.content_weight * content
            + g.adversarial_weight * adversarial
            + g.pixel_weight * pixel
            + g.tv_weight * tv
        )
        scalars = {
            "g_loss": loss,
            "content_loss": content,
            "g_adversarial_loss": adversarial,
            "pixel_mse": pixel,
        }
        return loss, {"scalars": scalars, "model_state": model_state}

    gen, metrics, _ = gradient_step_on_output(gen, pullback, images, loss_fn)
    return gen, metrics


def train_step(config, state: MultiState, batch, rng):
    """One D update on G(x_LR), then one G update against the new D through the same
    forward pass of G (its output and batch statistics computed once)."""
    del rng
    forward = generator_forward(state, batch)
    disc, d_metrics = discriminator_step(config, state, batch, forward[0])
    state = state.replace_networks(disc=disc)
    gen, g_metrics = generator_step(config, state, batch, forward)
    metrics = pair.step_metrics(d_metrics, g_metrics, gen, disc)
    return state.replace_networks(gen=gen), metrics


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """G(source), as super_resolution.sample."""
    return super_resolution.sample(
        config, state["gen"], rng, num_samples, inputs=inputs
    )


def evaluate(config, state: MultiState, batch, rng):
    """super_resolution's held-out PSNR/SSIM on Y of G against bicubic."""
    return super_resolution.evaluate(config, state["gen"], batch, rng)


ALGORITHM = Algorithm(
    name="srgan",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=super_resolution.sampling_inputs,
    evaluate=evaluate,
    first_stage=FirstStage(
        resolve=resolve_generator, load=load_generator, required=False
    ),
)
