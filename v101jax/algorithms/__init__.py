"""Algorithm registry: `config.algorithm` → module exposing init / train_step / sample.

Every module follows one contract, so the training loop never branches on names:
  init(config, rng, example_batch) -> state
  train_step(config, state, batch, rng) -> (state, metrics)   # jit-able, pure
  sample(config, state, rng, num_samples, **options) -> samples   # jit-able, pure
Class-conditional algorithms also expose
  num_sample_classes(config) -> int   # K when `sample` takes labels= in 0…K−1, else 0
so exported and evaluated samples can carry the classes they were drawn for.
"""

from v101jax.algorithms import (
    autoencoder,
    diffusion,
    gan,
    score_sde,
    vqvae,
    vqvae_prior,
)
from v101jax.core.errors import ConfigError

REGISTRY = {
    "autoencoder": autoencoder,
    "diffusion": diffusion,
    "gan": gan,
    "score_sde": score_sde,
    "vqvae": vqvae,
    "vqvae_prior": vqvae_prior,
}


def get_algorithm(name: str):
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"algorithm={name!r} is not registered; choose one of: {', '.join(sorted(REGISTRY))}"
        ) from None


def num_sample_classes(config) -> int:
    """Classes a config's samples are conditioned on (labels= of `sample`); 0 = unconditional."""
    algorithm = get_algorithm(config.algorithm)
    if not hasattr(algorithm, "num_sample_classes"):
        return 0
    return algorithm.num_sample_classes(config)
