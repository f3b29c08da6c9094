"""Attention blocks over NHWC feature maps: self-attention (DDPM's AttnBlock) and
cross-attention to a conditioning sequence (latent diffusion's)."""

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


class CrossAttention(nn.Module):
    """x + proj(attention(queries from norm(x), keys/values from `context`)).

    x [B, N, C] (N query positions), context [B, L, D] (a conditioning sequence: label
    embeddings as one token, text tokens), mask [B, L] (True for real tokens; padded tokens
    get no weight; each row needs at least one real token). Latent diffusion's conditioning
    path (Rombach et al. 2022, §3.3): softmax(Q Kᵀ / √d) V per head, Q = x W_Q, K = c W_K,
    V = c W_V. The output projection starts at zero, so the block starts as the identity.
    """

    num_heads: int = 1
    num_groups: int = (
        32  # GroupNorm groups for x (capped at C); 0 = LayerNorm (vectors)
    )
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, context, mask=None):
        c = x.shape[-1]
        if c % self.num_heads:
            raise ValueError(f"{c} channels do not split into {self.num_heads} heads")
        if self.num_groups:
            y = nn.GroupNorm(num_groups=min(self.num_groups, c), dtype=self.dtype)(x)
        else:
            y = nn.LayerNorm(dtype=self.dtype)(x)
        head = (self.num_heads, c // self.num_heads)
        q = nn.DenseGeneral(head, dtype=self.dtype, name="query")(y)
        k = nn.DenseGeneral(head, dtype=self.dtype, name="key")(context)
        v = nn.DenseGeneral(head, dtype=self.dtype, name="value")(context)
        attn_mask = None if mask is None else mask[:, None, None, :]  # [B, heads, N, L]
        y = nn.dot_product_attention(q, k, v, mask=attn_mask, dtype=self.dtype)
        y = nn.DenseGeneral(
            c,
            axis=(-2, -1),
            kernel_init=nn.initializers.zeros,
            dtype=self.dtype,
            name="out",
        )(y)
        return x + y


class CrossAttention2D(nn.Module):
    """CrossAttention over the H·W positions of an NHWC feature map."""

    num_heads: int = 1
    num_groups: int = 32
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, context, mask=None):
        _b, h, w, _c = x.shape
        y = CrossAttention(self.num_heads, self.num_groups, self.dtype)(
            rearrange(x, "b h w c -> b (h w) c"), context, mask
        )
        return rearrange(y, "b (h w) c -> b h w c", h=h, w=w)
