"""Algorithm registry: `config.algorithm` → module exposing init / train_step / sample.

Every module follows one contract, so the training loop never branches on names:
  init(config, rng, example_batch) -> state
  train_step(config, state, batch, rng) -> (state, metrics)   # jit-able, pure
  sample(config, state, rng, num_samples, **options) -> samples   # jit-able, pure
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
