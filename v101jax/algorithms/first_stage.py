"""Shared by second-stage algorithms (the VQ-VAE prior, latent diffusion): reading a frozen
first stage's run — its resolved config and newest checkpoint — and wrapping its parameters
as a TrainState for the first stage's own encode / decode functions.

A second stage names the first stage's workdir in `config.SECTION.NAME_workdir`; `resolve`
copies that run's config.json into `config.SECTION.NAME` once, at start-up, so every later
command reads it from the second stage's own config.json.
"""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import optax

from v101jax.core.checkpoint import abstract_train_state, restore_latest
from v101jax.core.errors import CheckpointError, ConfigError
from v101jax.core.train_state import TrainState
from v101jax.data import example_batch, sample_shape


def resolve(config, section: str, name: str, algorithms: tuple[str, ...], hint: str):
    """`config` with the first stage's resolved config, read from
    config.SECTION.NAME_workdir/config.json, in config.SECTION.NAME (unchanged when it is
    already there). The run must be one of `algorithms` and trained on images of this
    config's shape; `hint` is the command that trains one."""
    if "algorithm" in config[section][name]:
        return config
    field = f"{section}.{name}_workdir"
    workdir = config[section][f"{name}_workdir"]
    if not workdir:
        raise ConfigError(f"{field} is empty: set it to the workdir of {hint}")
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise ConfigError(
            f"{field}={workdir!r} has no config.json: train it first ({hint}, "
            f"--workdir={workdir})"
        )
    with open(path) as f:
        stage_config = ml_collections.ConfigDict(json.load(f))
    if stage_config.algorithm not in algorithms:
        raise ConfigError(
            f"{field}={workdir!r} holds a {stage_config.algorithm!r} run, not one of: "
            f"{', '.join(algorithms)}"
        )
    if sample_shape(stage_config.data) != sample_shape(config.data):
        raise ConfigError(
            f"data.source={config.data.source!r} gives images of shape "
            f"{sample_shape(config.data)}, the first stage in {field} was trained on "
            f"{sample_shape(stage_config.data)}"
        )
    config = config.copy_and_resolve_references()
    config[section][name] = stage_config
    return config


def resolved(config, section: str, name: str) -> ml_collections.ConfigDict:
    """The first stage's resolved config (config.SECTION.NAME, filled by `resolve`)."""
    stage_config = config[section][name]
    if "algorithm" not in stage_config:
        raise ConfigError(
            f"{section}.{name} is empty: the run in {section}.{name}_workdir is resolved "
            "when training starts (experiments.main)"
        )
    return stage_config


def restore(stage_config, workdir: str, init) -> TrainState:
    """The newest checkpoint of the first stage's run in `workdir` (built by
    `init(stage_config, rng, example_batch)`); a CheckpointError when it has none."""
    abstract, target = abstract_train_state(
        lambda rng, batch: init(stage_config, rng, batch),
        jax.random.PRNGKey(0),
        example_batch(stage_config.data, 1),
        jax.sharding.SingleDeviceSharding(jax.local_devices()[0]),
    )
    state = restore_latest(
        os.path.join(workdir, "checkpoints"),
        abstract,
        target,
        stage_config.train.keep_checkpoints,
    )
    if state is None:
        raise CheckpointError(
            f"{workdir!r} holds no {stage_config.algorithm} checkpoint"
        )
    return state


def frozen_train_state(params, model_state, apply_fn) -> TrainState:
    """Frozen parameters as a TrainState (step 0, no optimiser; EMA = the parameters), so
    the first stage's functions that take its state run on them unchanged."""
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        opt_state=(),
        ema_params=params,
        model_state=model_state,
        apply_fn=apply_fn,
        tx=optax.identity(),
    )
