"""A small causal transformer over a flattened grid of discrete codes (a VQ-VAE prior)."""

import flax.linen as nn
import jax.numpy as jnp


class CausalTransformer(nn.Module):
    """Tokens [B, N] (values 0 … vocab_size, where vocab_size is the start token) → logits
    [B, N, vocab_size] for the next code at every position; position i sees tokens ≤ i.

    Pre-LayerNorm blocks (causal self-attention, then a 4× GELU MLP) with learned position
    embeddings.
    """

    vocab_size: int = 128  # number of codes K (the start token is K)
    seq_len: int = 49  # N positions
    width: int = 128  # model width
    num_layers: int = 2
    num_heads: int = 4
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, tokens):
        n = tokens.shape[1]
        h = nn.Embed(self.vocab_size + 1, self.width, dtype=self.dtype)(tokens)
        pos = self.param(
            "position_embedding",
            nn.initializers.normal(0.02),
            (self.seq_len, self.width),
        )
        h = h + pos[:n].astype(self.dtype)
        mask = nn.make_causal_mask(tokens)
        for _ in range(self.num_layers):
            y = nn.LayerNorm(dtype=self.dtype)(h)
            y = nn.MultiHeadDotProductAttention(
                num_heads=self.num_heads, dtype=self.dtype
            )(y, y, mask=mask)
            h = h + y
            y = nn.LayerNorm(dtype=self.dtype)(h)
            y = nn.Dense(4 * self.width, dtype=self.dtype)(y)
            y = nn.Dense(self.width, dtype=self.dtype)(nn.gelu(y))
            h = h + y
        h = nn.LayerNorm(dtype=self.dtype)(h)
        return nn.Dense(self.vocab_size, dtype=self.dtype)(h).astype(jnp.float32)
