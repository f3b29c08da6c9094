"""Timestep embeddings."""

import math

import jax.numpy as jnp


def sinusoidal_embedding(t, dim: int, max_period: float = 10000.0):
    """Transformer-style sinusoidal embedding of (possibly fractional) timesteps.

    Args:
      t: [B] timesteps.
      dim: embedding size (even).
    Returns:
      [B, dim] float32: [sin(t·f_0), …, sin(t·f_{d/2-1}), cos(t·f_0), …] with
      f_i = max_period^(-i / (d/2 - 1)) as in DDPM's `get_timestep_embedding`.
    """
    half = dim // 2
    freqs = jnp.exp(
        -math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / max(half - 1, 1)
    )
    args = jnp.asarray(t, jnp.float32)[:, None] * freqs[None, :]
    emb = jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)
    if dim % 2:
        emb = jnp.pad(emb, ((0, 0), (0, 1)))
    return emb
