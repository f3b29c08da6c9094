"""Layers that let a discriminator look across the examples of a batch."""

from collections.abc import Callable

import flax.linen as nn
import jax.numpy as jnp


def _groups(x, group_size: int):
    """x [B, ...] → [B / g, g, ...] with g = min(group_size, B); ValueError if g ∤ B."""
    b = x.shape[0]
    g = min(group_size, b)
    if b % g:
        raise ValueError(f"batch {b} is not a multiple of the group size {g}")
    return x.reshape((b // g, g) + x.shape[1:])


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
    groups = _groups(x, group_size).astype(jnp.float32)
    g = groups.shape[1]
    std = jnp.sqrt(jnp.var(groups, axis=1) + 1e-8)  # [B/g, ...]
    per_group = jnp.mean(std.reshape(b // g, -1), axis=-1)  # [B/g]
    feature = jnp.repeat(per_group, g).astype(x.dtype)  # [B]
    feature = jnp.broadcast_to(
        feature.reshape((b,) + (1,) * (x.ndim - 1)), x.shape[:-1] + (1,)
    )
    return jnp.concatenate([x, feature], axis=-1)


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination features (Salimans et al. 2016, §3.2).

    The features f(x_i) ∈ ℝ^A of each example are multiplied by a learned tensor
    T ∈ ℝ^(A×B×C) into rows M_i ∈ ℝ^(B×C); for each kernel b,

        c_b(x_i, x_j) = exp(−‖M_i,b − M_j,b‖_L1),   o(x_i)_b = Σ_j c_b(x_i, x_j),

    summed over every example j of x_i's group, j = i included (as the paper's sum over
    j = 1…n and its reference code do: the j = i term is exp(0) = 1 for every example). The
    output is [f(x_i), o(x_i)] ∈ ℝ^(A+B). Groups are `group_size` consecutive examples, so as
    with `minibatch_stddev` real and generated halves of one batch stay apart (the paper
    computes the features separately for data and generated samples) when the group size
    divides the half batch.
    """

    num_kernels: int = 100  # B; the paper's reference code used 100
    kernel_dim: int = 5  # C; 5 there too
    group_size: int = 64  # examples compared with each other
    # The reference code initialised T from N(0, 0.05²).
    kernel_init: Callable = nn.initializers.normal(0.05)
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        """x [B, A] → [B, A + num_kernels]; B a multiple of min(group_size, B)."""
        t = self.param(
            "T", self.kernel_init, (x.shape[-1], self.num_kernels * self.kernel_dim)
        )
        m = jnp.dot(x.astype(self.dtype), t.astype(self.dtype))
        m = _groups(m.astype(jnp.float32), self.group_size)  # [G, g, B·C]
        m = m.reshape(m.shape[:2] + (self.num_kernels, self.kernel_dim))  # [G, g, B, C]
        # ‖M_i,b − M_j,b‖_L1 for every pair (i, j) of a group: [G, g, g, B].
        l1 = jnp.sum(jnp.abs(m[:, :, None] - m[:, None, :]), axis=-1)
        o = jnp.sum(jnp.exp(-l1), axis=2).reshape(x.shape[0], self.num_kernels)
        return jnp.concatenate([x, o.astype(x.dtype)], axis=-1)
