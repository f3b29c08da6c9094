"""Single-image super-resolution trained on a pixel loss: SRCNN, ESPCN and SRResNet.

    θ* = arg min_θ E ‖F_θ(x_LR) − x_HR‖²        (sr.loss = mse; l1 the alternative)

on photo_pairs batches {"source": the bicubic-degraded crop, "target": the crop}
(v101jax/data/photos.py; the scale is data.downscale, the channels data.channels: 1 = Y as
SRCNN and ESPCN train, 3 = RGB as SRResNet). `sr.network` picks F (v101jax/models/superres.py):

  srcnn     9-5-5 convolutions on the bicubic-upsampled input (Dong et al. 2016)
  espcn     5-3-3 with tanh in low-resolution space and a sub-pixel shuffle (Shi et al. 2016)
  srresnet  16 residual blocks with batch norm and PReLU, sub-pixel upsampling (Ledig et
            al. 2017); SRGAN's generator (v101jax/algorithms/srgan.py)

The papers' optimisers differ (SRCNN: SGD 1e-4 with 1e-5 on its last layer; ESPCN: 1e-2
falling to 1e-4; SRResNet: Adam 1e-4); the configs use Adam and say which rate. `sample`
upscales inputs={"source": [N, h, w, C]} deterministically; `evaluate` scores a held-out
batch as the field reports it: PSNR and SSIM on Y with `scale` border pixels cropped, for the
network and for bicubic upsampling of the same input (the baseline row); the loop averages
it over eval.batch_size chunks. Whole photos are scored by experiments.upscale.
"""

import jax.numpy as jnp

from v101jax.algorithms.contract import Algorithm
from v101jax.core import optim, precision
from v101jax.core.errors import ConfigError
from v101jax.core.inputs import source_images
from v101jax.core.train_state import TrainState, gradient_step, sampling_params
from v101jax.metrics import image_quality
from v101jax.models import superres

NETWORKS = ("srcnn", "espcn", "srresnet")
LOSSES = ("mse", "l1")


def make_network(config, channels: int):
    """F of `config.sr.network` for `channels`-channel images at scale data.downscale."""
    s = config.sr
    scale = config.data.downscale
    dtype = precision.compute_dtype(config.model.dtype)
    if s.network in ("srcnn", "espcn"):
        if len(s.kernels) != len(s.widths) + 1:
            raise ConfigError(
                f"sr.kernels={tuple(s.kernels)} needs one size more than "
                f"sr.widths={tuple(s.widths)} (the last layer's)"
            )
        return superres.ConvSR(
            out_channels=channels,
            scale=scale,
            widths=tuple(s.widths),
            kernels=tuple(s.kernels),
            activation="relu" if s.network == "srcnn" else "tanh",
            subpixel=s.network == "espcn",
            dtype=dtype,
        )
    if s.network == "srresnet":
        try:
            superres.upsampling_factors(scale)
        except ValueError as e:
            raise ConfigError(f"data.downscale={scale}: {e}") from None
        return superres.SRResNet(
            out_channels=channels,
            scale=scale,
            channels=s.channels,
            num_blocks=s.num_blocks,
            batch_norm=s.batch_norm,
            dtype=dtype,
        )
    raise ConfigError(f"sr.network={s.network!r} is not one of: {', '.join(NETWORKS)}")


def validate(config):
    if config.data.source != "photo_pairs":
        raise ConfigError(
            f"algorithm {config.algorithm!r} trains on data.source='photo_pairs' "
            f"(low-resolution crop → crop), not {config.data.source!r}"
        )
    if config.sr.loss not in LOSSES:
        raise ConfigError(
            f"sr.loss={config.sr.loss!r} is not one of: {', '.join(LOSSES)}"
        )


def init_network(config, rng, source, channels: int) -> TrainState:
    """F's TrainState (optimiser config.optim, EMA optim.ema_decay, batch statistics as
    model_state), initialised on `source` images."""
    model = make_network(config, channels)
    variables = model.init(rng, jnp.asarray(source), train=False)
    return TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        model_state={k: v for k, v in variables.items() if k != "params"},
        ema_decay=config.optim.ema_decay,
        ema_warmup=config.optim.ema_warmup,
    )


def init(config, rng, example_batch) -> TrainState:
    validate(config)
    return init_network(
        config, rng, example_batch["source"], example_batch["target"].shape[-1]
    )


def pixel_loss(kind: str, images, targets):
    """Mean squared (mse) or absolute (l1) error per pixel and channel."""
    if kind == "mse":
        return jnp.mean((images - targets) ** 2)
    return jnp.mean(jnp.abs(images - targets))


def forward(state: TrainState, params, source, *, train: bool):
    """(F(source), new mutable collections) — batch statistics update when `train`."""
    variables = {"params": params, **state.model_state}
    if not train or not state.model_state:
        return state.apply_fn(variables, source, train=train), state.model_state
    return state.apply_fn(
        variables, source, train=True, mutable=list(state.model_state)
    )


def upscale(state: TrainState, source, use_ema: bool):
    """F(source) with the sampling weights (EMA or raw) and running statistics."""
    images, _ = forward(state, sampling_params(state, use_ema), source, train=False)
    return images


def pixel_step(config, state: TrainState, batch):
    """One update of F on the pixel loss (sr.loss) of a batch."""

    def loss_fn(params):
        images, model_state = forward(state, params, batch["source"], train=True)
        loss = pixel_loss(config.sr.loss, images, batch["target"])
        return loss, {"scalars": {"loss": loss}, "model_state": model_state}

    state, metrics, _ = gradient_step(state, loss_fn)
    return state, metrics


def train_step(config, state: TrainState, batch, rng):
    del rng
    return pixel_step(config, state, batch)


def sample(config, state: TrainState, rng, num_samples: int, *, inputs=None):
    """F(source) for inputs={"source": [num_samples, h, w, C]}: NHWC at data.downscale× the
    size, in [-1, 1] (clipped). Deterministic; `rng` unused."""
    del rng
    source = source_images(
        config,
        inputs,
        num_samples,
        does="upscales images",
        what="low-resolution images",
    )
    source = jnp.asarray(source, jnp.float32)
    return jnp.clip(upscale(state, source, config.sample.use_ema), -1.0, 1.0)


def sampling_inputs(config, num_samples: int, held_out):
    """{"source": the first num_samples held-out low-resolution crops}."""
    return {"source": held_out(num_samples)["source"]}


def quality_metrics(images, batch, scale: int) -> dict:
    """Y-channel scores (border `scale`) of `images` and of bicubic upsampling of
    batch["source"] against batch["target"]: PSNR of the batch's pooled squared error (a
    mean of per-crop PSNRs would be ruled by flat crops, where both reach 50 dB and more),
    mean SSIM, and the PSNR gain over bicubic."""
    bicubic = superres.bicubic_upscale(batch["source"], scale)
    metrics = {}
    for prefix, upscaled in (("", images), ("bicubic_", bicubic)):
        scores = image_quality.luma_scores(upscaled, batch["target"], scale)
        mse = jnp.mean(scores["mse"])
        metrics[prefix + "psnr_y"] = 10.0 * jnp.log10(255.0**2 / mse)
        if "ssim" in scores:
            metrics[prefix + "ssim_y"] = jnp.mean(scores["ssim"])
    metrics["psnr_gain_db"] = metrics["psnr_y"] - metrics["bicubic_psnr_y"]
    return metrics


def evaluate(config, state: TrainState, batch, rng):
    """Held-out PSNR/SSIM on Y of F and of bicubic (`quality_metrics`), and the pixel loss."""
    del rng
    images = jnp.clip(upscale(state, batch["source"], config.sample.use_ema), -1, 1)
    metrics = quality_metrics(images, batch, config.data.downscale)
    metrics["pixel_loss"] = pixel_loss(config.sr.loss, images, batch["target"])
    return metrics


ALGORITHM = Algorithm(
    name="super_resolution",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    evaluate=evaluate,
)
