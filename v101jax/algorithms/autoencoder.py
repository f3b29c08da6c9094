"""Autoencoders (AE) and variational autoencoders (VAE, β-VAE) under the algorithm contract.

`config.autoencoder.kind` picks the model:
  ae   a deterministic encoder; loss = reconstruction error (MSE for the Gaussian likelihood,
       BCE for the Bernoulli one), averaged over pixels.
  vae  a Gaussian encoder q(z|x) = N(μ, diag σ²) (Kingma & Welling 2014); loss = −ELBO per
       image in nats, −E_q[log p(x|z)] + β·KL(q(z|x) ‖ N(0, I)) with the closed-form KL and
       the reparameterisation z = μ + σ·ε; β > 1 is β-VAE (Higgins et al. 2017); the KL weight
       can ramp linearly from 0 to β over `kl_warmup_steps` (Bowman et al. 2016).

Likelihoods (`config.autoencoder.likelihood`), for images x ∈ [-1, 1]:
  bernoulli  the decoder outputs logits; the targets are the intensities (x + 1) / 2 ∈ [0, 1]
             (the usual "BCE" on grey-level images: log p(x|z) = −BCE ≤ 0).
  gaussian   the decoder outputs means; a learned per-channel log σ (VAE) or a fixed σ = 1
             (AE: the loss is the MSE).
With `config.autoencoder.spatial` the latent is a map [h, w, latent_dim] (h, w = the image size
halved per stage of model.channel_mult) instead of a vector: latent diffusion's first stage.
Evaluation: `elbo` and the importance-weighted bound `iwae_log_likelihood` (Burda et al. 2016)
per image in nats, and `bits_per_dim`.
"""

import functools
import math

import jax
import jax.numpy as jnp
import optax

from v101jax.algorithms.contract import Algorithm, check_no_inputs
from v101jax.core import optim, precision, train_state
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState, gradient_step
from v101jax.data import sample_shape
from v101jax.metrics import image_quality
from v101jax.models.autoencoder import Autoencoder, latent_grid_shape

KINDS = ("ae", "vae")
LIKELIHOODS = ("bernoulli", "gaussian")
# Running statistics of AE latents, used to sample from a plain AE.
LATENT_STATS_DECAY = 0.99


def _validate(config):
    cfg = config.autoencoder
    if cfg.kind not in KINDS:
        raise ConfigError(f"autoencoder.kind={cfg.kind!r} is not one of: ae, vae")
    if cfg.likelihood not in LIKELIHOODS:
        raise ConfigError(
            f"autoencoder.likelihood={cfg.likelihood!r} is not one of: bernoulli, gaussian"
        )
    if cfg.beta < 0:
        raise ConfigError(f"autoencoder.beta={cfg.beta} must be ≥ 0")
    if cfg.kl_warmup_steps < 0:
        raise ConfigError(
            f"autoencoder.kl_warmup_steps={cfg.kl_warmup_steps} must be ≥ 0"
        )
    if cfg.latent_dim < 1:
        raise ConfigError(f"autoencoder.latent_dim={cfg.latent_dim} must be ≥ 1")
    if cfg.num_importance_samples < 1:
        raise ConfigError(
            f"autoencoder.num_importance_samples={cfg.num_importance_samples} must be ≥ 1"
        )
    if len(sample_shape(config.data)) != 3:
        raise ConfigError(
            f"data.source={config.data.source!r}: autoencoders need images"
        )


def stage_widths(model_cfg) -> tuple[int, ...]:
    """Encoder stage widths: model.channels × each of model.channel_mult."""
    return tuple(model_cfg.channels * m for m in model_cfg.channel_mult)


def latent_shape(config) -> tuple[int, ...]:
    """Shape of one latent: (latent_dim,), or (h, w, latent_dim) for spatial latents."""
    d = config.autoencoder.latent_dim
    if not config.autoencoder.get("spatial", False):
        return (d,)
    grid = latent_grid_shape(sample_shape(config.data), len(config.model.channel_mult))
    return (*grid, d)


def make_model(config) -> Autoencoder:
    _validate(config)
    return Autoencoder(
        image_shape=sample_shape(config.data),
        channels=stage_widths(config.model),
        latent_dim=config.autoencoder.latent_dim,
        flatten=len(latent_shape(config)) == 1,
        gaussian_encoder=config.autoencoder.kind == "vae",
        dtype=precision.compute_dtype(config.model.dtype),
    )


def init(config, rng, example_batch) -> TrainState:
    """Builds the autoencoder, its optimiser and EMA; params = {"net", "log_scale"}."""
    model = make_model(config)
    net = model.init(rng, example_batch["x"])["params"]
    channels = sample_shape(config.data)[-1]
    params = {"net": net, "log_scale": jnp.zeros((channels,), jnp.float32)}
    d = config.autoencoder.latent_dim
    latent_stats = {
        "latent_mean": jnp.zeros((d,), jnp.float32),
        "latent_var": jnp.ones((d,), jnp.float32),
    }
    return TrainState.create(
        apply_fn=model.apply,
        params=params,
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        model_state=latent_stats,
        ema_decay=config.optim.ema_decay,
        ema_warmup=config.optim.ema_warmup,
    )


# ---------------------------------------------------------------------------------------------
# Distributions


def reparameterize(rng, mean, log_var):
    """z = μ + σ·ε, ε ~ N(0, I), σ = exp(½ log σ²): differentiable in μ and log σ²."""
    eps = jax.random.normal(rng, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * log_var) * eps


def _latent_axes(z):
    return tuple(range(1, z.ndim))  # every axis but the batch: vector or map latents


def kl_standard_normal(mean, log_var):
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), per example [B]."""
    return 0.5 * jnp.sum(
        mean**2 + jnp.exp(log_var) - log_var - 1.0, axis=_latent_axes(mean)
    )


def gaussian_log_density(z, mean, log_var):
    """log N(z; μ, diag σ²) per example [B], summed over the latent's axes."""
    return -0.5 * jnp.sum(
        math.log(2 * math.pi) + log_var + (z - mean) ** 2 / jnp.exp(log_var),
        axis=_latent_axes(z),
    )


def log_likelihood(likelihood: str, decoder_out, x, log_scale):
    """log p(x | z) per example [B], summed over pixels, in nats.

    bernoulli: decoder_out are logits, targets t = (x + 1)/2: Σ t·log σ(l) + (1−t)·log σ(−l).
    gaussian: decoder_out are means, per-channel log σ = log_scale [C].
    """
    axes = tuple(range(1, x.ndim))
    if likelihood == "bernoulli":
        targets = (x + 1.0) / 2.0
        return -jnp.sum(
            optax.sigmoid_binary_cross_entropy(decoder_out, targets), axis=axes
        )
    return jnp.sum(
        -0.5 * math.log(2 * math.pi)
        - log_scale
        - 0.5 * ((x - decoder_out) / jnp.exp(log_scale)) ** 2,
        axis=axes,
    )


def decoder_mean(likelihood: str, decoder_out):
    """The decoder's mean image in [-1, 1]: 2σ(logits) − 1 (Bernoulli) or the clipped mean."""
    if likelihood == "bernoulli":
        return 2.0 * jax.nn.sigmoid(decoder_out) - 1.0
    return jnp.clip(decoder_out, -1.0, 1.0)


def kl_weight(step, beta: float, warmup_steps: int):
    """β·min(1, step / warmup_steps) (linear KL annealing), β when warmup_steps = 0."""
    if warmup_steps <= 0:
        return jnp.asarray(beta, jnp.float32)
    ramp = jnp.minimum(1.0, jnp.asarray(step, jnp.float32) / warmup_steps)
    return beta * ramp


def bits_per_dim(nats, config):
    """Negative log-likelihood per image in nats → bits per dimension.

    For the Gaussian likelihood the density of x ∈ [-1, 1] is moved to the 8-bit scale
    u = 127.5·(x + 1) (log p_u = log p_x − D·log 127.5) so the figure is comparable with the
    literature's bits/dim; the Bernoulli likelihood is a probability already.
    """
    dims = math.prod(sample_shape(config.data))
    if config.autoencoder.likelihood == "gaussian":
        nats = nats + dims * math.log(127.5)
    return nats / (dims * math.log(2.0))


# ---------------------------------------------------------------------------------------------
# Losses and bounds


def _apply(apply_fn, params, method, *args):
    return apply_fn({"params": params["net"]}, *args, method=method)


def loss_fn(params, apply_fn, config, batch, rng, step):
    """The training loss and its scalars.

    Returns:
      (loss, aux) with aux = {"scalars": {...}, "latents": z or μ [B, d]}.
    """
    cfg = config.autoencoder
    x = batch["x"]
    if cfg.kind == "ae":
        z = _apply(apply_fn, params, Autoencoder.encode, x)
        out = _apply(apply_fn, params, Autoencoder.decode, z)
        if cfg.likelihood == "bernoulli":
            loss = jnp.mean(optax.sigmoid_binary_cross_entropy(out, (x + 1.0) / 2.0))
        else:
            loss = jnp.mean((out - x) ** 2)
        mse = jnp.mean((decoder_mean(cfg.likelihood, out) - x) ** 2)
        return loss, {"scalars": {"loss": loss, "recon_mse": mse}, "latents": z}
    mean, log_var = _apply(apply_fn, params, Autoencoder.encode, x)
    z = reparameterize(rng, mean, log_var)
    out = _apply(apply_fn, params, Autoencoder.decode, z)
    rec = log_likelihood(cfg.likelihood, out, x, params["log_scale"])  # [B]
    kl = kl_standard_normal(mean, log_var)  # [B]
    weight = kl_weight(step, cfg.beta, cfg.kl_warmup_steps)
    loss = jnp.mean(-rec + weight * kl)
    scalars = {
        "loss": loss,
        "elbo": jnp.mean(rec - kl),
        "recon_nll": -jnp.mean(rec),
        "kl": jnp.mean(kl),
        "kl_weight": weight,
        "recon_mse": jnp.mean((decoder_mean(cfg.likelihood, out) - x) ** 2),
    }
    return loss, {"scalars": scalars, "latents": mean}


def train_step(config, state: TrainState, batch, rng):
    """One optimiser step. Keys: fold_in(rng, state.step)."""
    step_key = jax.random.fold_in(rng, state.step)
    new_state, metrics, aux = gradient_step(
        state,
        functools.partial(loss_fn, apply_fn=state.apply_fn, config=config),
        batch=batch,
        rng=step_key,
        step=state.step,
    )
    # Running moments of the (mean) latents, per latent channel (over the batch and, for
    # maps, the positions): a plain AE samples from N(mean, diag var).
    z = jax.lax.stop_gradient(aux["latents"])
    axes = tuple(range(z.ndim - 1))
    stats = state.model_state
    model_state = {
        "latent_mean": optax.incremental_update(
            jnp.mean(z, axes), stats["latent_mean"], 1 - LATENT_STATS_DECAY
        ),
        "latent_var": optax.incremental_update(
            jnp.var(z, axes), stats["latent_var"], 1 - LATENT_STATS_DECAY
        ),
    }
    return new_state.replace(model_state=model_state), metrics


def sampling_params(config, state):
    return train_state.sampling_params(state, config.sample.use_ema)


def elbo(config, params, apply_fn, x, rng):
    """One-sample ELBO per image [B] in nats: log p(x|z) − KL(q(z|x) ‖ p(z)), z ~ q(z|x)."""
    mean, log_var = _apply(apply_fn, params, Autoencoder.encode, x)
    z = reparameterize(rng, mean, log_var)
    out = _apply(apply_fn, params, Autoencoder.decode, z)
    rec = log_likelihood(config.autoencoder.likelihood, out, x, params["log_scale"])
    return rec - kl_standard_normal(mean, log_var)


def iwae_log_likelihood(config, params, apply_fn, x, rng, num_samples: int):
    """The importance-weighted bound L_k ≤ log p(x) per image [B] in nats (Burda et al. 2016):

    L_k = log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).
    L_1 is the ELBO in expectation and L_k grows with k towards log p(x). The k decoder passes
    run one after another (lax.map) to bound memory.
    """
    mean, log_var = _apply(apply_fn, params, Autoencoder.encode, x)
    zeros = jnp.zeros_like(mean)

    def log_weight(key):
        z = reparameterize(key, mean, log_var)
        out = _apply(apply_fn, params, Autoencoder.decode, z)
        rec = log_likelihood(config.autoencoder.likelihood, out, x, params["log_scale"])
        log_prior = gaussian_log_density(z, zeros, zeros)
        return rec + log_prior - gaussian_log_density(z, mean, log_var)

    weights = jax.lax.map(log_weight, jax.random.split(rng, num_samples))  # [k, B]
    return jax.scipy.special.logsumexp(weights, axis=0) - math.log(num_samples)


def evaluate(config, state: TrainState, batch, rng):
    """Per-batch figures for a held-out batch: reconstruction MSE/PSNR and, for a VAE, the
    ELBO and importance-weighted bound (nats per image) and their bits/dim. Averages over the
    batch; jit-able.
    """
    params = sampling_params(config, state)
    x = batch["x"]
    recon = reconstruct(config, state, x)
    mse = jnp.mean((recon - x) ** 2, axis=(1, 2, 3))
    figures = {
        "recon_mse": jnp.mean(mse),
        "psnr": jnp.mean(image_quality.psnr(recon, x, data_range=2.0)),
        "ssim": jnp.mean(image_quality.ssim(recon, x, data_range=2.0)),
    }
    if config.autoencoder.kind == "vae":
        elbo_key, iwae_key = jax.random.split(rng)
        e = elbo(config, params, state.apply_fn, x, elbo_key)
        k = config.autoencoder.num_importance_samples
        iw = iwae_log_likelihood(config, params, state.apply_fn, x, iwae_key, k)
        figures.update(
            elbo=jnp.mean(e),
            iwae=jnp.mean(iw),
            elbo_bits_per_dim=bits_per_dim(-jnp.mean(e), config),
            iwae_bits_per_dim=bits_per_dim(-jnp.mean(iw), config),
        )
    return figures


# ---------------------------------------------------------------------------------------------
# Encode / decode / sample (images in [-1, 1])


def encode(config, state: TrainState, x):
    """Latents [B, d] (or [B, h, w, d]) of images: z for an AE, the posterior mean μ for a
    VAE."""
    out = _apply(state.apply_fn, sampling_params(config, state), Autoencoder.encode, x)
    return out[0] if config.autoencoder.kind == "vae" else out


def decode(config, state: TrainState, z):
    """Mean images in [-1, 1] of latents z [B, d] (or [B, h, w, d])."""
    out = _apply(state.apply_fn, sampling_params(config, state), Autoencoder.decode, z)
    return decoder_mean(config.autoencoder.likelihood, out)


def reconstruct(config, state: TrainState, x):
    return decode(config, state, encode(config, state, x))


def latent_prior(config, state: TrainState):
    """(mean, std) [d] of the distribution `sample` draws latents from (per channel of a
    latent map): N(0, I) for a VAE, the running moments of the encoder's latents for an AE."""
    d = config.autoencoder.latent_dim
    if config.autoencoder.kind == "vae":
        return jnp.zeros((d,)), jnp.ones((d,))
    stats = state.model_state
    return stats["latent_mean"], jnp.sqrt(stats["latent_var"])


def sample(config, state: TrainState, rng, num_samples: int, *, inputs=None):
    """Decodes latents from `latent_prior` (VAE: z ~ N(0, I)) to mean images [N, H, W, C];
    unconditional (`inputs` must be None)."""
    check_no_inputs(config, inputs)
    mean, std = latent_prior(config, state)
    eps = jax.random.normal(rng, (num_samples,) + latent_shape(config))
    return decode(config, state, mean + std * eps)


ALGORITHM = Algorithm(
    name="autoencoder",
    init=init,
    train_step=train_step,
    sample=sample,
    evaluate=evaluate,
    encode=encode,
    decode=decode,
    latent_prior=latent_prior,
)
