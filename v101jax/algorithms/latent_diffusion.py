"""Latent diffusion (Rombach et al. 2022): DDPM/DDIM diffusion in a frozen autoencoder's latent
space.

The first stage is an autoencoder run with spatial latents (`configs/ldm_autoencoder.py`: a
KL-regularised VAE whose encoder maps 28×28×1 to 7×7×4 or 14×14×4), or a VQ-VAE
(`configs/vqvae.py`: diffusion on its continuous encoder outputs z_e, which the decoder
quantises, as LDM's VQ models; no rescaling, as LDM's). At start-up, outside jit,
the loop resolves it once (`ALGORITHM.first_stage`): its config is copied from
`ldm.autoencoder_workdir/config.json` into `ldm.autoencoder`, and a fresh run loads its newest
checkpoint into the state's `frozen` entries together with the latent scale, 1 / std of the
encoded training latents (`ldm.scale_by_std`, LDM's `scale_by_std`), so the diffused latents
have unit variance. This run's checkpoints hold all of it: a trained model samples after the
autoencoder's workdir is gone.

Training encodes each batch to z = scale · μ(x) (the posterior mean; LDM draws z ~ q(z|x),
whose spread the small KL weight keeps narrow), then takes the discrete
diffusion algorithm's step on z (the same loss, schedules, ε/x₀/v prediction and label
dropout for classifier-free guidance: v101jax/algorithms/diffusion.py). `sample` runs the
configured DDPM/DDIM sampler on latents and decodes D(z / scale), all in one compiled program.
Latents are not confined to [-1, 1]: keep `sample.clip_x0` off.
"""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from v101jax.algorithms import autoencoder, diffusion, first_stage, vqvae
from v101jax.algorithms.contract import Algorithm, FirstStage
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import MultiState, TrainState, sampling_params
from v101jax.data import load_dataset, real_images
from v101jax.diffusion import denoiser
from v101jax.diffusion.schedules import schedule_from_config
from v101jax.metrics import image_quality

HINT = (
    "an autoencoder with spatial latents trained with configs/ldm_autoencoder.py (or a "
    "VQ-VAE, configs/vqvae.py)"
)
# First-stage algorithms → their modules; each has init, make_model, sampling_params,
# encode, decode and latent_shape with the same signatures.
FIRST_STAGES = {"autoencoder": autoencoder, "vqvae": vqvae}


def first_stage_module(ae_config):
    """The module of the first stage's algorithm (autoencoder or vqvae)."""
    return FIRST_STAGES[ae_config.algorithm]


def resolve_autoencoder(config) -> ml_collections.ConfigDict:
    """`config` with the frozen first stage's resolved config in `ldm.autoencoder`."""
    config = first_stage.resolve(
        config, "ldm", "autoencoder", tuple(FIRST_STAGES), HINT
    )
    ae_config = config.ldm.autoencoder
    if len(first_stage_module(ae_config).latent_shape(ae_config)) != 3:
        raise ConfigError(
            f"ldm.autoencoder_workdir={config.ldm.autoencoder_workdir!r} holds an "
            "autoencoder with vector latents: latent diffusion needs latent maps "
            "(autoencoder.spatial=True, configs/ldm_autoencoder.py)"
        )
    return config


def autoencoder_config(config) -> ml_collections.ConfigDict:
    return first_stage.resolved(config, "ldm", "autoencoder")


def frozen_autoencoder(config, state: MultiState) -> TrainState:
    """The frozen first stage as a TrainState (for its module's encode / decode)."""
    ae_config = autoencoder_config(config)
    return first_stage.frozen_train_state(
        state["ae_params"],
        state["ae_model_state"],
        first_stage_module(ae_config).make_model(ae_config).apply,
    )


def to_latents(config, state: MultiState, x):
    """Images [B, H, W, C] → the diffused latents scale · μ(x) [B, h, w, d]."""
    ae_config = autoencoder_config(config)
    stage = first_stage_module(ae_config)
    z = stage.encode(ae_config, frozen_autoencoder(config, state), x)
    return z * state["latent_scale"]


def from_latents(config, state: MultiState, z):
    """Diffused latents [B, h, w, d] → images in [-1, 1]: D(z / scale)."""
    ae_config = autoencoder_config(config)
    return first_stage_module(ae_config).decode(
        ae_config, frozen_autoencoder(config, state), z / state["latent_scale"]
    )


def latent_scale(config, state: MultiState) -> float:
    """1 / std of the latents of the first ldm.scale_examples training images (over every
    latent value, as LDM's scale_by_std), or 1 when ldm.scale_by_std is off or the first
    stage is a VQ-VAE."""
    if not config.ldm.scale_by_std or autoencoder_config(config).algorithm == "vqvae":
        return 1.0
    data_cfg = config.data.copy_and_resolve_references()
    images = real_images(data_cfg, load_dataset(data_cfg, seed=config.seed))
    images = images[: config.ldm.scale_examples]
    encode = jax.jit(functools.partial(to_latents, config))
    unscaled = state.replace(frozen={**state.frozen, "latent_scale": jnp.ones(())})
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, len(images), 500):
        z = np.asarray(encode(unscaled, images[start : start + 500]), np.float64)
        total += float(np.sum(z))
        total_sq += float(np.sum(z * z))
        count += z.size
    mean = total / count
    std = max(total_sq / count - mean * mean, 1e-12) ** 0.5
    logging.info(
        "latent scale 1/std = %.4g from %d training images (latent mean %.3g)",
        1.0 / std,
        len(images),
        mean,
    )
    return 1.0 / std


def load_autoencoder(config, state: MultiState) -> MultiState:
    """The fresh `state` with the frozen entries set to the newest checkpoint of
    ldm.autoencoder_workdir and the latent scale measured on the training set."""
    ae_config = autoencoder_config(config)
    stage = first_stage_module(ae_config)
    ae_state = first_stage.restore(
        ae_config, config.ldm.autoencoder_workdir, stage.init
    )
    # A first stage trained with a discriminator: only its autoencoder is frozen here.
    ae_state = autoencoder.network(ae_state)
    state = state.replace(
        frozen={
            "ae_params": stage.sampling_params(ae_config, ae_state),
            "ae_model_state": ae_state.model_state,
            "latent_scale": jnp.ones((), jnp.float32),
        }
    )
    scale = jnp.asarray(latent_scale(config, state), jnp.float32)
    return state.replace(frozen={**state.frozen, "latent_scale": scale})


def _validate(config):
    if config.ldm.scale_examples < 2:
        raise ConfigError(f"ldm.scale_examples={config.ldm.scale_examples} must be ≥ 2")
    if config.sample.clip_x0:
        raise ConfigError(
            "sample.clip_x0=True clips predictions to [-1, 1], which latents are not "
            "confined to: set sample.clip_x0=False"
        )


def init(config, rng, example_batch) -> MultiState:
    """Builds the latent denoiser, its optimiser and EMA; the frozen autoencoder entries hold
    freshly initialised parameters of its shape (and scale 1) until `load_autoencoder`."""
    _validate(config)
    ae_config = autoencoder_config(config)
    stage = first_stage_module(ae_config)
    x = example_batch["x"]
    latents = jnp.zeros(x.shape[:1] + stage.latent_shape(ae_config), jnp.float32)
    net = diffusion.init(config, rng, {"x": latents, "label": example_batch["label"]})
    ae_state = autoencoder.network(
        stage.init(ae_config, jax.random.fold_in(rng, 1), example_batch)
    )
    return MultiState(
        networks={"denoiser": net},
        frozen={
            "ae_params": stage.sampling_params(ae_config, ae_state),
            "ae_model_state": ae_state.model_state,
            "latent_scale": jnp.ones((), jnp.float32),
        },
        primary="denoiser",
    )


def latent_batch(config, state: MultiState, batch) -> dict:
    """The diffusion batch of an image batch: {"x": its latents, "label"} (labels 0 when
    the batch has none: an unconditional denoiser ignores them)."""
    z = jax.lax.stop_gradient(to_latents(config, state, batch["x"]))
    labels = batch.get("label")
    if labels is None:
        labels = jnp.zeros(z.shape[:1], jnp.int32)
    return {"x": z, "label": labels}


def train_step(config, state: MultiState, batch, rng):
    """One step of the discrete diffusion algorithm on the batch's latents."""
    net, metrics = diffusion.train_step(
        config, state["denoiser"], latent_batch(config, state, batch), rng
    )
    return state.replace_networks(denoiser=net), metrics


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """Images [N, H, W, C] in [-1, 1]: latents drawn by config.sample's DDPM/DDIM sampler
    (guided by sample.guidance for a class-conditional model), decoded by the first stage.

    inputs: {"labels": int [num_samples]} of a class-conditional model.
    """
    ae_config = autoencoder_config(config)
    shape = (num_samples,) + first_stage_module(ae_config).latent_shape(ae_config)
    z = diffusion.sample_of_shape(config, state["denoiser"], rng, shape, inputs=inputs)
    return from_latents(config, state, z)


def evaluate(config, state: MultiState, batch, rng):
    """Held-out figures: the first stage's reconstruction (MSE, PSNR, SSIM of D(E(x))) and the
    latent denoiser's loss on the batch's latents (sampling parameters, no label dropout)."""
    x = batch["x"]
    recon = from_latents(config, state, to_latents(config, state, x))
    figures = {
        "first_stage_mse": jnp.mean((recon - x) ** 2),
        "first_stage_psnr": jnp.mean(image_quality.psnr(recon, x, data_range=2.0)),
        "first_stage_ssim": jnp.mean(image_quality.ssim(recon, x, data_range=2.0)),
    }
    num_classes = denoiser.num_sample_classes(config)
    if num_classes and "label" not in batch:
        return figures  # images alone (experiments.reconstruct): no conditional loss
    net = state["denoiser"]
    figures["latent_loss"], _ = diffusion.loss_fn(
        sampling_params(net, config.sample.use_ema),
        net.apply_fn,
        schedule_from_config(config.diffusion),
        latent_batch(config, state, batch),
        rng,
        train=False,
        prediction=config.diffusion.prediction,
        num_classes=num_classes,
    )
    return figures


ALGORITHM = Algorithm(
    name="latent_diffusion",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=diffusion.ALGORITHM.sample_options,
    num_sample_classes=denoiser.num_sample_classes,
    sampling_inputs=denoiser.sampling_inputs,
    evaluate=evaluate,
    first_stage=FirstStage(resolve=resolve_autoencoder, load=load_autoencoder),
    encode=to_latents,
    decode=from_latents,
)
