"""Spatial self-attention block (DDPM's AttnBlock) over NHWC feature maps."""

import flax.linen as nn
import jax.numpy as jnp
from einops import rearrange


class SelfAttention2D(nn.Module):
    """x + proj(attention(GroupNorm(x))) over all H·W positions."""

    num_heads: int = 1
    num_groups: int = 32
    dtype: jnp.dtype = jnp.float32  # compute dtype

    @nn.compact
    def __call__(self, x):
        _b, h, w, c = x.shape
        y = nn.GroupNorm(num_groups=min(self.num_groups, c), dtype=self.dtype)(x)
        y = rearrange(y, "b h w c -> b (h w) c")
        qkv = nn.DenseGeneral(
            (3, self.num_heads, c // self.num_heads), dtype=self.dtype
        )(y)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # [B, HW, heads, c/heads]
        y = nn.dot_product_attention(q, k, v, dtype=self.dtype)
        # Zero-initialised output projection: the block starts as the identity.
        y = nn.DenseGeneral(
            c, axis=(-2, -1), kernel_init=nn.initializers.zeros, dtype=self.dtype
        )(y)
        return x + rearrange(y, "b (h w) c -> b h w c", h=h, w=w)
