"""A learned autoregressive prior over the code grids of a frozen VQ-VAE (second stage).

The VQ-VAE trained by `configs/vqvae.py` is the frozen first stage. At start-up, outside jit,
the loop resolves it once (`ALGORITHM.first_stage`): its resolved config is copied from
`config.prior.vqvae_workdir/config.json` into `config.prior.vqvae` (and so into this run's
config.json), and a fresh run loads its newest checkpoint into the state's `frozen`
entries, which this run's checkpoints hold too. Nothing here opens a file afterwards: a
trained prior samples after the VQ-VAE's workdir is gone.

Training encodes each batch to its code grid [B, h, w], flattens it in raster order and fits a
causal transformer by maximum likelihood: p(c) = Π_i p(c_i | c_<i). `sample` draws whole code
grids position by position inside one compiled `lax.fori_loop` (softmax temperature
`config.sample.temperature`) and decodes them with the frozen decoder.
"""

import functools
import math

import jax
import jax.numpy as jnp
import ml_collections
import optax

from v101jax.algorithms import first_stage, vqvae
from v101jax.algorithms.contract import Algorithm, FirstStage, check_no_inputs
from v101jax.core import optim, precision
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import (
    MultiState,
    TrainState,
    gradient_step,
    sampling_params,
)
from v101jax.models.code_prior import CausalTransformer


def resolve_vqvae(config) -> ml_collections.ConfigDict:
    """`config` with the frozen VQ-VAE's resolved config, read from
    prior.vqvae_workdir/config.json, in `prior.vqvae` (unchanged when it is already there)."""
    return first_stage.resolve(
        config, "prior", "vqvae", ("vqvae",), "a VQ-VAE trained with configs/vqvae.py"
    )


def vqvae_config(config) -> ml_collections.ConfigDict:
    """The frozen VQ-VAE's resolved config (`prior.vqvae`, filled by `resolve_vqvae`)."""
    return first_stage.resolved(config, "prior", "vqvae")


def load_vqvae(config, state: MultiState) -> MultiState:
    """The fresh `state` with the frozen entries set to the newest checkpoint of
    prior.vqvae_workdir (its sampling parameters and model state)."""
    vq_config = vqvae_config(config)
    vq_state = first_stage.restore(vq_config, config.prior.vqvae_workdir, vqvae.init)
    return state.replace(
        frozen={
            "vqvae_params": vqvae.sampling_params(vq_config, vq_state),
            "vqvae_model_state": vq_state.model_state,
        }
    )


def frozen_vqvae(config, state: MultiState) -> TrainState:
    """The frozen VQ-VAE as a TrainState (for vqvae.encode_codes / decode_codes)."""
    return first_stage.frozen_train_state(
        state["vqvae_params"],
        state["vqvae_model_state"],
        vqvae.make_model(vqvae_config(config)).apply,
    )


def _validate(config):
    p = config.prior
    for name in ("width", "num_layers", "num_heads"):
        if p[name] < 1:
            raise ConfigError(f"prior.{name}={p[name]} must be ≥ 1")
    if p.width % p.num_heads:
        raise ConfigError(
            f"prior.width={p.width} must be a multiple of prior.num_heads={p.num_heads}"
        )
    if config.sample.temperature <= 0:
        raise ConfigError(f"sample.temperature={config.sample.temperature} must be > 0")


def make_model(config, vq_config) -> CausalTransformer:
    _validate(config)
    h, w = vqvae.latent_grid_shape(vq_config)
    return CausalTransformer(
        vocab_size=vq_config.vqvae.num_codes,
        seq_len=h * w,
        width=config.prior.width,
        num_layers=config.prior.num_layers,
        num_heads=config.prior.num_heads,
        dtype=precision.compute_dtype(config.model.dtype),
    )


def init(config, rng, example_batch) -> MultiState:
    """Builds the prior, its optimiser and EMA; the frozen VQ-VAE entries hold freshly
    initialised parameters of its shape until `load_vqvae` fills them in."""
    vq_config = vqvae_config(config)
    model = make_model(config, vq_config)
    params = model.init(rng, jnp.zeros((1, model.seq_len), jnp.int32))["params"]
    vq_state = vqvae.init(vq_config, jax.random.fold_in(rng, 1), example_batch)
    return MultiState(
        networks={
            "prior": TrainState.create(
                apply_fn=model.apply,
                params=params,
                tx=optim.make_optimizer(config.optim, config.train.num_steps),
                ema_decay=config.optim.ema_decay,
                ema_warmup=config.optim.ema_warmup,
            )
        },
        frozen={
            "vqvae_params": vqvae.sampling_params(vq_config, vq_state),
            "vqvae_model_state": vq_state.model_state,
        },
        primary="prior",
    )


def shift_right(codes, start_token: int):
    """[B, N] codes → the inputs [start, c_0, …, c_{N−2}] that predict c_0 … c_{N−1}."""
    start = jnp.full((codes.shape[0], 1), start_token, codes.dtype)
    return jnp.concatenate([start, codes[:, :-1]], axis=1)


def code_grids(config, state: MultiState, x):
    """Flattened code grids [B, h·w] of images under the frozen VQ-VAE (raster order)."""
    vq_config = vqvae_config(config)
    codes = vqvae.encode_codes(vq_config, frozen_vqvae(config, state), x)
    return codes.reshape(codes.shape[0], -1)


def loss_fn(params, apply_fn, codes, num_codes: int):
    """Mean negative log-likelihood per code, in nats."""
    logits = apply_fn({"params": params}, shift_right(codes, num_codes))
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, codes)
    accuracy = jnp.mean(jnp.argmax(logits, -1) == codes)
    return jnp.mean(nll), {"scalars": {"loss": jnp.mean(nll), "accuracy": accuracy}}


def train_step(config, state: MultiState, batch, rng):
    """One optimiser step of the prior on the batch's code grids (the VQ-VAE is frozen)."""
    del (
        rng
    )  # deterministic: the codes of a batch are fixed and the prior has no dropout
    codes = jax.lax.stop_gradient(code_grids(config, state, batch["x"]))
    prior = state["prior"]
    prior, metrics, _ = gradient_step(
        prior,
        functools.partial(
            loss_fn,
            apply_fn=prior.apply_fn,
            num_codes=vqvae_config(config).vqvae.num_codes,
        ),
        codes=codes,
    )
    # −log p(codes) per image in nats (the prior's part of a likelihood bound).
    metrics["nll_per_image"] = metrics["loss"] * codes.shape[1]
    return state.replace_networks(prior=prior), metrics


def sample_codes(config, state: MultiState, rng, num_samples: int):
    """Code grids [N, h, w] drawn from the prior at softmax temperature
    config.sample.temperature, one position after another (lax.fori_loop).

    Every iteration re-runs the transformer on the whole (causally masked) sequence: positions
    after i are masked out, so their placeholder values do not matter.
    """
    vq_config = vqvae_config(config)
    temperature = config.sample.temperature
    num_codes = vq_config.vqvae.num_codes
    h, w = vqvae.latent_grid_shape(vq_config)
    prior = state["prior"]
    params = sampling_params(prior, config.sample.use_ema)

    def body(i, codes):
        logits = prior.apply_fn({"params": params}, shift_right(codes, num_codes))
        logits_i = jax.lax.dynamic_index_in_dim(logits, i, axis=1, keepdims=False)
        c = jax.random.categorical(jax.random.fold_in(rng, i), logits_i / temperature)
        return jax.lax.dynamic_update_index_in_dim(codes, c.astype(codes.dtype), i, 1)

    codes = jax.lax.fori_loop(
        0, h * w, body, jnp.zeros((num_samples, h * w), jnp.int32)
    )
    return codes.reshape(num_samples, h, w)


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """Images [N, H, W, C] in [-1, 1]: prior code grids decoded by the frozen VQ-VAE;
    unconditional (`inputs` must be None)."""
    check_no_inputs(config, inputs)
    codes = sample_codes(config, state, rng, num_samples)
    return vqvae.decode_codes(vqvae_config(config), frozen_vqvae(config, state), codes)


def encode(config, state: MultiState, x):
    return vqvae.encode(vqvae_config(config), frozen_vqvae(config, state), x)


def decode(config, state: MultiState, z):
    return vqvae.decode(vqvae_config(config), frozen_vqvae(config, state), z)


def reconstruct(config, state: MultiState, x):
    return decode(config, state, encode(config, state, x))


def evaluate(config, state: MultiState, batch, rng):
    """The frozen VQ-VAE's figures plus the prior's NLL of the batch's codes (nats per image
    and bits per code)."""
    vq_config = vqvae_config(config)
    figures = vqvae.evaluate(vq_config, frozen_vqvae(config, state), batch, rng)
    codes = code_grids(config, state, batch["x"])
    prior = state["prior"]
    params = sampling_params(prior, config.sample.use_ema)
    nll, _ = loss_fn(params, prior.apply_fn, codes, vq_config.vqvae.num_codes)
    figures["prior_nll_per_image"] = nll * codes.shape[1]
    figures["prior_bits_per_code"] = nll / math.log(2.0)
    return figures


ALGORITHM = Algorithm(
    name="vqvae_prior",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=("temperature",),
    evaluate=evaluate,
    first_stage=FirstStage(resolve=resolve_vqvae, load=load_vqvae),
    encode=encode,
    decode=decode,
)
