"""A small transformer text encoder for token ids (v101jax.data.tokenizer: 0 = padding).

Token embeddings plus learned positions, then `num_layers` pre-LayerNorm blocks of masked
self-attention and an MLP (GPT-2/CLIP's text tower layout, bidirectional here, sized for
captions of a dozen words). Padding is masked out of every attention and of the pooled code,
so a caption's features do not depend on how much padding follows it.
"""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.data.tokenizer import PAD_ID


class TextEncoder(nn.Module):
    """tokens int32 [B, L] → (token features [B, L, width], pooled [B, width], mask [B, L]).

    pooled is the mean of the real tokens' final features (zeros for an empty caption);
    num_layers = 0 gives a bag of position-aware embeddings.
    """

    vocab_size: int
    width: int = 64
    num_layers: int = 2
    num_heads: int = 2
    max_length: int = 16  # positions with learned embeddings
    mlp_ratio: int = 4
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, tokens):
        length = tokens.shape[1]
        if length > self.max_length:
            raise ValueError(
                f"{length} tokens exceed the encoder's {self.max_length} positions"
            )
        mask = tokens != PAD_ID
        h = nn.Embed(self.vocab_size, self.width, name="token_embedding")(tokens)
        positions = self.param(
            "position_embedding",
            nn.initializers.normal(0.02),
            (self.max_length, self.width),
        )
        h = (h + positions[:length]).astype(self.dtype)
        attention_mask = nn.make_attention_mask(mask, mask)  # [B, 1, L, L]
        for i in range(self.num_layers):
            y = nn.LayerNorm(dtype=self.dtype, name=f"ln_attn_{i}")(h)
            y = nn.MultiHeadDotProductAttention(
                num_heads=self.num_heads, dtype=self.dtype, name=f"attention_{i}"
            )(y, y, mask=attention_mask)
            h = h + y
            y = nn.LayerNorm(dtype=self.dtype, name=f"ln_mlp_{i}")(h)
            y = nn.Dense(
                self.width * self.mlp_ratio, dtype=self.dtype, name=f"mlp_in_{i}"
            )(y)
            y = nn.Dense(self.width, dtype=self.dtype, name=f"mlp_out_{i}")(nn.gelu(y))
            h = h + y
        h = nn.LayerNorm(dtype=self.dtype, name="ln_final")(h).astype(jnp.float32)
        weights = mask.astype(jnp.float32)[..., None]
        pooled = jnp.sum(h * weights, axis=1) / jnp.maximum(
            jnp.sum(weights, axis=1), 1.0
        )
        return h, pooled, mask
