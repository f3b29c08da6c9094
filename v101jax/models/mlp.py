"""MLP networks for low-dimensional (toy 2-D) data."""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.attention import CrossAttention
from v101jax.nn.embeddings import sinusoidal_embedding


class MLPDenoiser(nn.Module):
    """Noise predictor for vectors: (x [B, D], t [B], labels [B] | None) → [B, D].

    The sinusoidal time embedding (and a class embedding when conditional) is added to every
    hidden layer. With `label_tokens` the class embedding is instead a one-token sequence that
    every hidden layer cross-attends to (the U-Net's cross-attention path on vectors).
    """

    hidden: int = 256
    num_layers: int = 3
    num_classes: int = (
        0  # > 0: class-conditional; label == num_classes means "no label"
    )
    label_tokens: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, t, labels=None, *, train: bool):
        del train
        emb = nn.Dense(self.hidden, dtype=self.dtype)(sinusoidal_embedding(t, 64))
        if self.num_classes > 0:
            if labels is None:
                raise ValueError("this MLP is class-conditional: pass labels")
            label_emb = nn.Embed(self.num_classes + 1, self.hidden, dtype=self.dtype)(
                labels
            )
            if not self.label_tokens:
                emb = emb + label_emb
        h = nn.Dense(self.hidden, dtype=self.dtype)(x)
        for _ in range(self.num_layers):
            h = nn.silu(h + emb)
            if self.label_tokens and self.num_classes > 0:
                h = CrossAttention(num_groups=0, dtype=self.dtype)(
                    h[:, None, :], label_emb[:, None, :]
                )[:, 0]
            h = nn.Dense(self.hidden, dtype=self.dtype)(h)
        h = nn.Dense(x.shape[-1], dtype=self.dtype)(nn.silu(h))
        return h.astype(jnp.float32)
