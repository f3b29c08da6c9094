"""VQ-VAE (van den Oord et al. 2017) under the algorithm contract.

The encoder maps x to a latent map z_e [B, h, w, D]; each vector is replaced by its nearest
codebook entry e_k (z_q), and the decoder reconstructs x from z_q. Gradients pass from z_q to
z_e unchanged (straight-through). The loss, per the paper's eq. 3:

  ‖x − D(z_q)‖² + ‖sg(z_e) − e‖² + β‖z_e − sg(e)‖²,   β = vqvae.commitment_cost (0.25)

With `vqvae.codebook_update = "ema"` the middle (codebook) term is dropped and the codebook
follows exponential moving averages of its assigned encoder outputs (appendix A.1, decay 0.99);
with "loss" the optimiser learns it through the codebook term. Codes whose usage (an EMA of
their per-batch counts) falls below `vqvae.dead_code_threshold` are moved onto random encoder
outputs of the batch (Jukebox's restarts). Perplexity exp(H) of the batch's code histogram and
the fraction of codes used are logged.

`sample` decodes codes drawn independently from the codebook usage (a baseline only); the
learned autoregressive prior over the code grid is `vqvae_prior`.
"""

import functools

import jax
import jax.numpy as jnp
import optax

from v101jax.algorithms.contract import Algorithm, check_no_inputs
from v101jax.core import optim, precision, train_state
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState, gradient_step
from v101jax.data import sample_shape
from v101jax.metrics import image_quality
from v101jax.models import autoencoder as ae_models
from v101jax.models.autoencoder import VQVAE

CODEBOOK_UPDATES = ("ema", "loss")


def stage_widths(model_cfg) -> tuple[int, ...]:
    return tuple(model_cfg.channels * m for m in model_cfg.channel_mult)


def _validate(config):
    cfg = config.vqvae
    if cfg.codebook_update not in CODEBOOK_UPDATES:
        raise ConfigError(
            f"vqvae.codebook_update={cfg.codebook_update!r} is not one of: ema, loss"
        )
    if not 0.0 <= cfg.ema_decay < 1.0:
        raise ConfigError(f"vqvae.ema_decay={cfg.ema_decay} must be in [0, 1)")
    if not 0.0 <= cfg.usage_decay < 1.0:
        raise ConfigError(f"vqvae.usage_decay={cfg.usage_decay} must be in [0, 1)")
    if cfg.num_codes < 2:
        raise ConfigError(f"vqvae.num_codes={cfg.num_codes} must be ≥ 2")
    if cfg.code_dim < 1:
        raise ConfigError(f"vqvae.code_dim={cfg.code_dim} must be ≥ 1")
    if cfg.commitment_cost < 0:
        raise ConfigError(f"vqvae.commitment_cost={cfg.commitment_cost} must be ≥ 0")
    if len(sample_shape(config.data)) != 3:
        raise ConfigError(f"data.source={config.data.source!r}: VQ-VAE needs images")


def make_model(config) -> VQVAE:
    _validate(config)
    return VQVAE(
        image_shape=sample_shape(config.data),
        channels=stage_widths(config.model),
        num_codes=config.vqvae.num_codes,
        code_dim=config.vqvae.code_dim,
        dtype=precision.compute_dtype(config.model.dtype),
    )


def latent_grid_shape(config) -> tuple[int, int]:
    """(h, w) of the code grid."""
    return ae_models.latent_grid_shape(
        sample_shape(config.data), len(config.model.channel_mult)
    )


def latent_shape(config) -> tuple[int, int, int]:
    """Shape of one continuous latent z_e: (h, w, code_dim) (latent diffusion's view)."""
    return (*latent_grid_shape(config), config.vqvae.code_dim)


def expected_usage(config, batch_size: int) -> float:
    """Per-code count of a batch if codes were used uniformly: the usage EMA's start value, so
    no code counts as dead before it has had ~log(count/threshold)/(1−decay) steps to be used."""
    h, w = latent_grid_shape(config)
    return batch_size * h * w / config.vqvae.num_codes


def init(config, rng, example_batch) -> TrainState:
    """Builds the VQ-VAE; model_state holds the EMA codebook statistics and code usage."""
    model = make_model(config)
    params = model.init(rng, example_batch["x"])["params"]
    k = config.vqvae.num_codes
    codebook = params["quantizer"]["codebook"]
    start = expected_usage(config, example_batch["x"].shape[0])
    model_state = {
        # N_k and m_k = N_k·e_k of the EMA update, consistent with the initial codebook.
        "cluster_size": jnp.full((k,), start, jnp.float32),
        "embed_sum": codebook * start,
        "usage": jnp.full((k,), start, jnp.float32),
    }
    return TrainState.create(
        apply_fn=model.apply,
        params=params,
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        model_state=model_state,
        ema_decay=config.optim.ema_decay,
        ema_warmup=config.optim.ema_warmup,
    )


def loss_fn(params, apply_fn, config, batch):
    """VQ-VAE loss (eq. 3; the codebook term only when the codebook is learned by the loss).

    Returns:
      (loss, aux) with aux = {"scalars", "z_e" [B, h, w, D], "codes" [B, h, w]}.
    """
    cfg = config.vqvae
    x = batch["x"]
    z_e = apply_fn({"params": params}, x, method=VQVAE.encode)
    codebook = params["quantizer"]["codebook"]
    if cfg.codebook_update == "ema":
        codebook = jax.lax.stop_gradient(codebook)
    codes = ae_models.nearest_code(z_e, codebook)
    e = codebook[codes]  # [B, h, w, D]
    z_q = ae_models.straight_through(z_e, e)
    x_hat = apply_fn({"params": params}, z_q, method=VQVAE.decode)
    recon = jnp.mean((x_hat - x) ** 2)
    commitment = jnp.mean(jnp.sum((z_e - jax.lax.stop_gradient(e)) ** 2, axis=-1))
    codebook_loss = jnp.mean(jnp.sum((jax.lax.stop_gradient(z_e) - e) ** 2, axis=-1))
    loss = recon + cfg.commitment_cost * commitment
    if cfg.codebook_update == "loss":
        loss = loss + codebook_loss
    perplexity, used = ae_models.codebook_perplexity(codes, cfg.num_codes)
    scalars = {
        "loss": loss,
        "recon_mse": recon,
        "commitment": commitment,
        "codebook_loss": codebook_loss,
        "perplexity": perplexity,
        "codes_used": used,
    }
    return loss, {"scalars": scalars, "z_e": z_e, "codes": codes}


def with_codebook(params, codebook):
    """`params` with the quantiser's codebook replaced."""
    return {**params, "quantizer": {**params["quantizer"], "codebook": codebook}}


def update_codebook(config, state: TrainState, new_params, z_e, codes, rng):
    """The step's codebook and model_state: the EMA update (or the optimiser's codebook), then
    dead-code restarts.

    Returns:
      (codebook [K, D], model_state, number of codes restarted).
    """
    cfg = config.vqvae
    z_flat = z_e.reshape(-1, z_e.shape[-1])
    codes_flat = codes.reshape(-1)
    stats = dict(state.model_state)
    counts = jnp.bincount(codes_flat, length=cfg.num_codes).astype(jnp.float32)
    stats["usage"] = optax.incremental_update(
        counts, stats["usage"], 1.0 - cfg.usage_decay
    )
    if cfg.codebook_update == "ema":
        size, embed_sum, codebook = ae_models.ema_codebook_update(
            stats["cluster_size"],
            stats["embed_sum"],
            z_flat,
            codes_flat,
            decay=cfg.ema_decay,
            epsilon=cfg.ema_epsilon,
        )
    else:
        size, embed_sum = stats["cluster_size"], stats["embed_sum"]
        codebook = new_params["quantizer"]["codebook"]
    if cfg.dead_code_threshold > 0:
        codebook, dead = ae_models.restart_dead_codes(
            rng, codebook, stats["usage"], z_flat, cfg.dead_code_threshold
        )
        # A restarted code starts afresh: usage as if uniformly used, EMA sums consistent.
        fresh = expected_usage(config, z_e.shape[0])
        stats["usage"] = jnp.where(dead, fresh, stats["usage"])
        size = jnp.where(dead, fresh, size)
        embed_sum = jnp.where(dead[:, None], codebook * fresh, embed_sum)
        num_dead = jnp.sum(dead)
    else:
        num_dead = jnp.zeros((), jnp.int32)
    stats["cluster_size"], stats["embed_sum"] = size, embed_sum
    return codebook, stats, num_dead


def train_step(config, state: TrainState, batch, rng):
    """One optimiser step plus the codebook update. Keys: fold_in(rng, state.step)."""
    step_key = jax.random.fold_in(rng, state.step)
    new_state, metrics, aux = gradient_step(
        state,
        functools.partial(loss_fn, apply_fn=state.apply_fn, config=config),
        batch=batch,
    )
    codebook, model_state, num_dead = update_codebook(
        config, state, new_state.params, aux["z_e"], aux["codes"], step_key
    )
    # The codebook is set, not averaged, in both parameter copies: the EMA update is its own
    # average, and a restarted code must be restarted everywhere.
    new_state = new_state.replace(
        params=with_codebook(new_state.params, codebook),
        ema_params=with_codebook(new_state.ema_params, codebook),
        model_state=model_state,
    )
    metrics["dead_codes_restarted"] = num_dead.astype(jnp.float32)
    return new_state, metrics


def sampling_params(config, state: TrainState):
    return train_state.sampling_params(state, config.sample.use_ema)


def encode(config, state: TrainState, x):
    """Continuous encoder outputs z_e [B, h, w, D] (quantised by `decode`)."""
    return state.apply_fn(
        {"params": sampling_params(config, state)}, x, method=VQVAE.encode
    )


def encode_codes(config, state: TrainState, x):
    """Code indices [B, h, w] of images."""
    params = sampling_params(config, state)
    z_e = state.apply_fn({"params": params}, x, method=VQVAE.encode)
    return ae_models.nearest_code(z_e, params["quantizer"]["codebook"])


def decode(config, state: TrainState, z):
    """Quantises encoder outputs z_e = z [B, h, w, D] and decodes them to images in [-1, 1]."""
    params = sampling_params(config, state)
    codes = ae_models.nearest_code(z, params["quantizer"]["codebook"])
    return decode_codes(config, state, codes)


def decode_codes(config, state: TrainState, codes):
    """Images in [-1, 1] of code grids [B, h, w]."""
    out = state.apply_fn(
        {"params": sampling_params(config, state)}, codes, method=VQVAE.decode_codes
    )
    return jnp.clip(out, -1.0, 1.0)


def reconstruct(config, state: TrainState, x):
    return decode(config, state, encode(config, state, x))


def evaluate(config, state: TrainState, batch, rng):
    """Reconstruction MSE/PSNR and codebook perplexity/usage of a held-out batch (jit-able)."""
    del rng
    x = batch["x"]
    codes = encode_codes(config, state, x)
    recon = decode_codes(config, state, codes)
    mse = jnp.mean((recon - x) ** 2, axis=(1, 2, 3))
    perplexity, used = ae_models.codebook_perplexity(codes, config.vqvae.num_codes)
    return {
        "recon_mse": jnp.mean(mse),
        "psnr": jnp.mean(image_quality.psnr(recon, x, data_range=2.0)),
        "ssim": jnp.mean(image_quality.ssim(recon, x, data_range=2.0)),
        "perplexity": perplexity,
        "codes_used": used,
    }


def sample(config, state: TrainState, rng, num_samples: int, *, inputs=None):
    """Baseline samples: every position's code drawn independently from the codebook usage.

    These show what the codebook holds, not the data distribution; `vqvae_prior` samples the
    learned prior over whole code grids.
    """
    check_no_inputs(config, inputs)
    h, w = latent_grid_shape(config)
    logits = jnp.log(state.model_state["usage"] + 1e-6)
    codes = jax.random.categorical(rng, logits, shape=(num_samples, h, w))
    return decode_codes(config, state, codes)


ALGORITHM = Algorithm(
    name="vqvae",
    init=init,
    train_step=train_step,
    sample=sample,
    evaluate=evaluate,
    encode=encode,
    decode=decode,
)
