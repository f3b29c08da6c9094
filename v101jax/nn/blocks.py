"""Residual blocks and resampling layers shared by U-Nets and convolutional generators."""

import flax.linen as nn
import jax
import jax.numpy as jnp


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, plus a projected conditioning embedding, twice; residual skip.

    As DDPM's ResnetBlock: the embedding (time, optionally class) is added after the first conv;
    dropout precedes the second conv, which is zero-initialised so the block starts as identity.
    """

    out_channels: int
    dropout: float = 0.0
    num_groups: int = 32
    dtype: jnp.dtype = jnp.float32  # compute dtype

    @nn.compact
    def __call__(self, x, emb, train: bool):
        # `train` is positional-or-keyword so nn.remat can mark it static (static_argnums=(3,)).

        groups = lambda c: min(self.num_groups, c)
        h = nn.silu(nn.GroupNorm(num_groups=groups(x.shape[-1]), dtype=self.dtype)(x))
        h = nn.Conv(self.out_channels, (3, 3), dtype=self.dtype)(h)
        h = (
            h
            + nn.Dense(self.out_channels, dtype=self.dtype)(nn.silu(emb))[
                :, None, None, :
            ]
        )
        h = nn.silu(
            nn.GroupNorm(num_groups=groups(self.out_channels), dtype=self.dtype)(h)
        )
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
        h = nn.Conv(
            self.out_channels,
            (3, 3),
            kernel_init=nn.initializers.zeros,
            dtype=self.dtype,
        )(h)
        if x.shape[-1] != self.out_channels:
            x = nn.Conv(self.out_channels, (1, 1), dtype=self.dtype)(x)
        return x + h


class Downsample(nn.Module):
    """Stride-2 3×3 convolution (ceil division of odd sizes: 7 → 4)."""

    channels: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        return nn.Conv(self.channels, (3, 3), strides=(2, 2), dtype=self.dtype)(x)


class Upsample(nn.Module):
    """Nearest-neighbour resize to `shape` (H, W), then a 3×3 convolution."""

    channels: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, shape):
        b, _, _, c = x.shape
        x = jax.image.resize(x, (b, shape[0], shape[1], c), method="nearest")
        return nn.Conv(self.channels, (3, 3), dtype=self.dtype)(x)
