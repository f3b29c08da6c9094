"""A learned autoregressive prior over the code grids of a frozen VQ-VAE (second stage).

The VQ-VAE trained by `configs/vqvae.py` is loaded from `config.prior.vqvae_workdir` (its
config.json and newest checkpoint) and kept frozen. Training encodes each batch to its code grid
[B, h, w], flattens it in raster order and fits a causal transformer by maximum likelihood:
p(c) = Π_i p(c_i | c_<i). `sample` draws whole code grids position by position inside one
compiled `lax.fori_loop` and decodes them with the frozen decoder.
"""

import functools
import json
import math
import os

import flax.serialization
import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from v101jax.algorithms import vqvae
from v101jax.core import optim, precision
from v101jax.core.checkpoint import Checkpointer
from v101jax.core.errors import CheckpointError, ConfigError
from v101jax.core.train_state import TrainState
from v101jax.data import sample_shape
from v101jax.models.code_prior import CausalTransformer


class PriorState(flax.struct.PyTreeNode):
    """The prior's train state and the frozen VQ-VAE's parameters (checkpointed together)."""

    prior: TrainState
    vqvae_params: dict
    vqvae_model_state: dict
    vqvae_apply_fn: object = flax.struct.field(pytree_node=False)

    @property
    def step(self):
        return self.prior.step

    def checkpoint_tree(self) -> dict:
        return {
            "prior": self.prior.checkpoint_tree(),
            "vqvae_params": flax.serialization.to_state_dict(self.vqvae_params),
            "vqvae_model_state": flax.serialization.to_state_dict(
                self.vqvae_model_state
            ),
        }

    def from_checkpoint_tree(self, tree: dict) -> "PriorState":
        return self.replace(
            prior=self.prior.from_checkpoint_tree(tree["prior"]),
            vqvae_params=flax.serialization.from_state_dict(
                self.vqvae_params, tree["vqvae_params"]
            ),
            vqvae_model_state=flax.serialization.from_state_dict(
                self.vqvae_model_state, tree["vqvae_model_state"]
            ),
        )


def vqvae_config(config) -> ml_collections.ConfigDict:
    """The frozen VQ-VAE's resolved config, read from its workdir's config.json."""
    workdir = config.prior.vqvae_workdir
    if not workdir:
        raise ConfigError(
            "prior.vqvae_workdir is empty: set it to the workdir of a VQ-VAE trained with "
            "configs/vqvae.py"
        )
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise ConfigError(
            f"prior.vqvae_workdir={workdir!r} has no config.json: train the VQ-VAE first "
            f"(python -m experiments.main --config=configs/vqvae.py --workdir={workdir})"
        )
    with open(path) as f:
        vq_config = ml_collections.ConfigDict(json.load(f))
    if vq_config.algorithm != "vqvae":
        raise ConfigError(
            f"prior.vqvae_workdir={workdir!r} holds a {vq_config.algorithm!r} run, "
            "not a vqvae one"
        )
    if sample_shape(vq_config.data) != sample_shape(config.data):
        raise ConfigError(
            f"data.source={config.data.source!r} gives images of shape "
            f"{sample_shape(config.data)}, the VQ-VAE in prior.vqvae_workdir was trained on "
            f"{sample_shape(vq_config.data)}"
        )
    return vq_config


def load_frozen_vqvae(config):
    """(VQ-VAE config, its newest checkpointed train state) from prior.vqvae_workdir."""
    vq_config = vqvae_config(config)
    directory = os.path.join(config.prior.vqvae_workdir, "checkpoints")
    example = {
        "x": np.zeros((1,) + sample_shape(vq_config.data), np.float32),
        "label": np.zeros((1,), np.int32),
    }
    init_fn = functools.partial(vqvae.init, vq_config)
    # Evaluated eagerly even when called while `init` is being traced (eval_shape / jit).
    with jax.ensure_compile_time_eval():
        abstract = jax.eval_shape(init_fn, jax.random.PRNGKey(0), example)
        device = jax.local_devices()[0]
        target = jax.tree.map(
            lambda s: jax.ShapeDtypeStruct(
                s.shape, s.dtype, sharding=jax.sharding.SingleDeviceSharding(device)
            ),
            abstract.checkpoint_tree(),
        )
        tree = None
        if os.path.isdir(directory):
            ckpt = Checkpointer(directory, max_to_keep=vq_config.train.keep_checkpoints)
            try:
                _, tree = ckpt.restore_latest(target)
            finally:
                ckpt.close()
        if tree is None:
            raise CheckpointError(
                f"prior.vqvae_workdir={config.prior.vqvae_workdir!r} holds no VQ-VAE "
                "checkpoint"
            )
        return vq_config, abstract.from_checkpoint_tree(tree)


def frozen_vqvae(state: PriorState) -> TrainState:
    """The frozen VQ-VAE as a TrainState (for vqvae.encode_codes / decode_codes)."""
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=state.vqvae_params,
        opt_state=(),
        ema_params=state.vqvae_params,
        model_state=state.vqvae_model_state,
        apply_fn=state.vqvae_apply_fn,
        tx=optax.identity(),
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
    if p.temperature <= 0:
        raise ConfigError(f"prior.temperature={p.temperature} must be > 0")


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


def init(config, rng, example_batch) -> PriorState:
    """Loads the frozen VQ-VAE and builds the prior, its optimiser and EMA."""
    del example_batch  # the prior's inputs are code grids, shaped by the VQ-VAE
    vq_config, vq_state = load_frozen_vqvae(config)
    model = make_model(config, vq_config)
    params = model.init(rng, jnp.zeros((1, model.seq_len), jnp.int32))["params"]
    vq_params = vqvae.sampling_params(vq_config, vq_state)
    return PriorState(
        prior=TrainState.create(
            apply_fn=model.apply,
            params=params,
            tx=optim.make_optimizer(config.optim, config.train.num_steps),
            ema_decay=config.optim.ema_decay,
            ema_warmup=config.optim.ema_warmup,
        ),
        vqvae_params=vq_params,
        vqvae_model_state=vq_state.model_state,
        vqvae_apply_fn=vq_state.apply_fn,
    )


def shift_right(codes, start_token: int):
    """[B, N] codes → the inputs [start, c_0, …, c_{N−2}] that predict c_0 … c_{N−1}."""
    start = jnp.full((codes.shape[0], 1), start_token, codes.dtype)
    return jnp.concatenate([start, codes[:, :-1]], axis=1)


def code_grids(config, state: PriorState, x):
    """Flattened code grids [B, h·w] of images under the frozen VQ-VAE (raster order)."""
    vq_config = vqvae_config(config)
    codes = vqvae.encode_codes(vq_config, frozen_vqvae(state), x)
    return codes.reshape(codes.shape[0], -1)


def loss_fn(params, apply_fn, codes, num_codes: int):
    """Mean negative log-likelihood per code, in nats."""
    logits = apply_fn({"params": params}, shift_right(codes, num_codes))
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, codes)
    accuracy = jnp.mean(jnp.argmax(logits, -1) == codes)
    return jnp.mean(nll), {"scalars": {"loss": jnp.mean(nll), "accuracy": accuracy}}


def train_step(config, state: PriorState, batch, rng):
    """One optimiser step of the prior on the batch's code grids (the VQ-VAE is frozen)."""
    del (
        rng
    )  # deterministic: the codes of a batch are fixed and the prior has no dropout
    codes = jax.lax.stop_gradient(code_grids(config, state, batch["x"]))
    num_codes = vqvae_config(config).vqvae.num_codes
    grad_fn = jax.value_and_grad(
        functools.partial(loss_fn, apply_fn=state.prior.apply_fn, num_codes=num_codes),
        has_aux=True,
    )
    (loss, aux), grads = grad_fn(state.prior.params, codes=codes)
    prior = state.prior.apply_gradients(grads)
    metrics = dict(aux["scalars"])
    # −log p(codes) per image in nats (the prior's part of a likelihood bound).
    metrics["nll_per_image"] = loss * codes.shape[1]
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["learning_rate"] = optim.current_learning_rate(prior.opt_state)
    return state.replace(prior=prior), metrics


def sample_codes(config, state: PriorState, rng, num_samples: int, temperature=None):
    """Code grids [N, h, w] drawn from the prior, one position after another (lax.fori_loop).

    Every iteration re-runs the transformer on the whole (causally masked) sequence: positions
    after i are masked out, so their placeholder values do not matter.
    """
    vq_config = vqvae_config(config)
    temperature = temperature or config.prior.temperature
    num_codes = vq_config.vqvae.num_codes
    h, w = vqvae.latent_grid_shape(vq_config)
    params = state.prior.ema_params if config.sample.use_ema else state.prior.params

    def body(i, codes):
        logits = state.prior.apply_fn({"params": params}, shift_right(codes, num_codes))
        logits_i = jax.lax.dynamic_index_in_dim(logits, i, axis=1, keepdims=False)
        c = jax.random.categorical(jax.random.fold_in(rng, i), logits_i / temperature)
        return jax.lax.dynamic_update_index_in_dim(codes, c.astype(codes.dtype), i, 1)

    codes = jax.lax.fori_loop(
        0, h * w, body, jnp.zeros((num_samples, h * w), jnp.int32)
    )
    return codes.reshape(num_samples, h, w)


def sample(config, state: PriorState, rng, num_samples: int, *, temperature=None):
    """Images [N, H, W, C] in [-1, 1]: prior code grids decoded by the frozen VQ-VAE."""
    codes = sample_codes(config, state, rng, num_samples, temperature)
    return vqvae.decode_codes(vqvae_config(config), frozen_vqvae(state), codes)


def encode(config, state: PriorState, x):
    return vqvae.encode(vqvae_config(config), frozen_vqvae(state), x)


def decode(config, state: PriorState, z_e):
    return vqvae.decode(vqvae_config(config), frozen_vqvae(state), z_e)


def reconstruct(config, state: PriorState, x):
    return decode(config, state, encode(config, state, x))


def evaluate(config, state: PriorState, batch, rng):
    """The frozen VQ-VAE's figures plus the prior's NLL of the batch's codes (nats per image
    and bits per code)."""
    vq_config = vqvae_config(config)
    figures = vqvae.evaluate(vq_config, frozen_vqvae(state), batch, rng)
    codes = code_grids(config, state, batch["x"])
    params = state.prior.ema_params if config.sample.use_ema else state.prior.params
    nll, _ = loss_fn(params, state.prior.apply_fn, codes, vq_config.vqvae.num_codes)
    figures["prior_nll_per_image"] = nll * codes.shape[1]
    figures["prior_bits_per_code"] = nll / math.log(2.0)
    return figures
