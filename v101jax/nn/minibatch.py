"""Layers that let a discriminator look across the examples of a batch."""

import jax.numpy as jnp


def minibatch_stddev(x, group_size: int):
    """Appends the minibatch standard deviation feature (Karras et al. 2018, §3).

    Within each group of `group_size` consecutive examples, the standard deviation of every
    feature is taken over the group and averaged into one number, which is appended to each
    example of the group as an extra channel. A generator that collapses produces groups
    with a small value, which the discriminator can see. Groups are consecutive examples, so a
    batch made by concatenating real and generated halves never mixes the two when
    `group_size` divides the half batch.

    Args:
      x: [B, F] or [B, H, W, C]; B must be a multiple of min(group_size, B).
      group_size: examples per group.

    Returns:
      [B, F + 1] or [B, H, W, C + 1].
    """
    b = x.shape[0]
    g = min(group_size, b)
    if b % g:
        raise ValueError(f"batch {b} is not a multiple of the group size {g}")
    groups = x.reshape((b // g, g) + x.shape[1:]).astype(jnp.float32)
    std = jnp.sqrt(jnp.var(groups, axis=1) + 1e-8)  # [B/g, ...]
    per_group = jnp.mean(std.reshape(b // g, -1), axis=-1)  # [B/g]
    feature = jnp.repeat(per_group, g).astype(x.dtype)  # [B]
    feature = jnp.broadcast_to(
        feature.reshape((b,) + (1,) * (x.ndim - 1)), x.shape[:-1] + (1,)
    )
    return jnp.concatenate([x, feature], axis=-1)
