"""Figures of a trained autoencoder: reconstructions, samples, interpolations, traversals, and
its test-set figures (ELBO/IWAE, MSE/PSNR, codebook perplexity).

Works with every algorithm that declares the `encode`, `decode` and `evaluate` hooks of the
contract (autoencoder, vqvae, vqvae_prior). Latent traversals need vector latents and the
`latent_prior` hook (AE, VAE, β-VAE).
"""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from v101jax.algorithms import get_algorithm
from v101jax.core.errors import ConfigError
from v101jax.data import load_dataset, real_images
from v101jax.training import images, sampling
from v101jax.training.evaluation import held_out_metrics

NUM_COLUMNS = 8
INTERPOLATION_STEPS = 10
TRAVERSAL_RANGE = 3.0  # traversals span ±3 standard deviations of the latent prior
TRAVERSAL_STEPS = 9
MAX_TRAVERSED_DIMS = 16


def require_autoencoder(algorithm, name: str):
    missing = [
        f for f in ("encode", "decode", "evaluate") if getattr(algorithm, f) is None
    ]
    if missing:
        raise ConfigError(
            f"algorithm={name!r} has no {', '.join(missing)}: figures need an autoencoder"
        )


def held_out_images(config, num_images: int) -> np.ndarray:
    """The first `num_images` images of the config's test split, float32 in [-1, 1]."""
    data_cfg = config.data.copy_and_resolve_references()
    data_cfg.split = "test"
    return real_images(data_cfg, load_dataset(data_cfg))[:num_images]


class Codec:
    """An algorithm's `encode` and `decode` bound to its config and state, compiled once."""

    def __init__(self, algorithm, config, state):
        self.state = state
        self._encode = jax.jit(functools.partial(algorithm.encode, config))
        self._decode = jax.jit(functools.partial(algorithm.decode, config))

    def encode(self, x):
        return self._encode(self.state, x)

    def decode(self, z):
        return self._decode(self.state, z)


def reconstruction_grid(codec: Codec, x) -> np.ndarray:
    """Rows of inputs, each followed by the row of their reconstructions."""
    recon = np.asarray(codec.decode(codec.encode(x)))
    rows = []
    for start in range(0, len(x) - NUM_COLUMNS + 1, NUM_COLUMNS):
        rows += [x[start : start + NUM_COLUMNS], recon[start : start + NUM_COLUMNS]]
    return images.make_grid(images.to_uint8(np.concatenate(rows)), NUM_COLUMNS)


def interpolation_grid(codec: Codec, x_start, x_end) -> np.ndarray:
    """One row per pair: decodes of (1 − t)·z_a + t·z_b for t from 0 to 1."""
    z_a, z_b = codec.encode(x_start), codec.encode(x_end)
    t = jnp.linspace(0.0, 1.0, INTERPOLATION_STEPS)
    t = t.reshape((1, -1) + (1,) * (z_a.ndim - 1))
    z = (1.0 - t) * z_a[:, None] + t * z_b[:, None]  # [pairs, steps, ...]
    decoded = codec.decode(z.reshape((-1,) + z.shape[2:]))
    return images.make_grid(images.to_uint8(np.asarray(decoded)), INTERPOLATION_STEPS)


def traversal_grid(algorithm, config, state, codec: Codec, x) -> np.ndarray | None:
    """One row per latent dimension (up to 16): the encoding of `x` [1, ...] with that
    dimension swept over mean ± 3·std of the latent prior, the others fixed. None when the
    latents are not vectors or the algorithm has no `latent_prior`."""
    if algorithm.latent_prior is None:
        return None
    z0 = codec.encode(x)[0]
    if z0.ndim != 1:
        return None
    mean, std = algorithm.latent_prior(config, state)
    dims = min(z0.shape[0], MAX_TRAVERSED_DIMS)
    offsets = jnp.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, TRAVERSAL_STEPS)
    z = jnp.tile(z0, (dims, TRAVERSAL_STEPS, 1))  # [dims, steps, d]
    for j in range(dims):
        z = z.at[j, :, j].set(mean[j] + offsets * std[j])
    decoded = codec.decode(z.reshape(-1, z0.shape[0]))
    return images.make_grid(images.to_uint8(np.asarray(decoded)), TRAVERSAL_STEPS)


def write_figures(
    config, state, out_dir: str, *, num_eval: int = 10000, seed: int = 0
) -> dict:
    """Writes reconstructions.png, samples.png, interpolations.png, traversals.png (vector
    latents) and figures.json (test-set figures of `num_eval` images) to `out_dir`.

    Returns:
      {"figures": {name: value}, "pictures": {name: path}}.
    """
    algorithm = get_algorithm(config.algorithm)
    require_autoencoder(algorithm, config.algorithm)
    x = held_out_images(config, max(num_eval, 64))
    key = jax.random.PRNGKey(seed)
    sample_key, eval_key = jax.random.split(key)
    codec = Codec(algorithm, config, state)
    pictures = {
        "reconstructions": reconstruction_grid(codec, x[:32]),
        "samples": images.samples_to_picture(
            np.asarray(
                sampling.chunked_sampler(config)(
                    state,
                    sample_key,
                    64,
                    inputs=sampling.default_inputs(config, 64),
                )
            )
        ),
        "interpolations": interpolation_grid(codec, x[:8], x[8:16]),
    }
    traversals = traversal_grid(algorithm, config, state, codec, x[16:17])
    if traversals is not None:
        pictures["traversals"] = traversals
    paths = {}
    for name, picture in pictures.items():
        paths[name] = os.path.join(out_dir, f"{name}.png")
        images.save_png(paths[name], picture)
    figures = held_out_metrics(algorithm, config, state, {"x": x[:num_eval]}, eval_key)
    figures["num_images"] = min(num_eval, len(x))
    with open(os.path.join(out_dir, "figures.json"), "w") as f:
        json.dump(figures, f, indent=2)
    return {"figures": figures, "pictures": paths}
