"""MLP networks for low-dimensional (toy 2-D) data."""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.embeddings import sinusoidal_embedding


class MLPDenoiser(nn.Module):
    """Noise predictor for vectors: (x [B, D], t [B], labels [B] | None) → [B, D].

    The sinusoidal time embedding (and a class embedding when conditional) is concatenated to
    the input and added to every hidden layer.
    """

    hidden: int = 256
    num_layers: int = 3
    num_classes: int = (
        0  # > 0: class-conditional; label == num_classes means "no label"
    )
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, t, labels=None, *, train: bool):
        del train
        emb = nn.Dense(self.hidden, dtype=self.dtype)(sinusoidal_embedding(t, 64))
        if self.num_classes > 0:
            if labels is None:
                raise ValueError("this MLP is class-conditional: pass labels")
            emb = emb + nn.Embed(self.num_classes + 1, self.hidden, dtype=self.dtype)(
                labels
            )
        h = nn.Dense(self.hidden, dtype=self.dtype)(x)
        for _ in range(self.num_layers):
            h = nn.silu(h + emb)
            h = nn.Dense(self.hidden, dtype=self.dtype)(h)
        h = nn.Dense(x.shape[-1], dtype=self.dtype)(nn.silu(h))
        return h.astype(jnp.float32)
