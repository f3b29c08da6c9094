"""GAN-CLS's networks (Reed et al. 2016): a text encoder and a GAN body per network.

Each network reads the caption's tokens with its own TextEncoder, projects the pooled
embedding φ(t) to a code (Linear → LeakyReLU 0.2; 128 wide in the paper) and hands the code
to its body as a "vector" condition (v101jax.models.gan): G concatenates it to z, D tiles it
over its last feature map. The paper's φ is a pre-trained char-CNN-RNN shared by G and D;
here each network learns its own from its loss.

GAN-INT: with `mix_tokens` the code is made from β·φ(t₁) + (1 − β)·φ(t₂), the interpolation
the paper feeds G (§4.3), taken before the projection as there.
"""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.text import TextEncoder


def interpolated_pooled(encoder, tokens, mix_tokens=None, beta=0.5):
    """The encoder's pooled embedding φ(t) of `tokens`, or with `mix_tokens` GAN-INT's
    β·φ(t₁) + (1 − β)·φ(t₂) (β a scalar or one per example)."""
    _, pooled, _ = encoder(tokens)
    if mix_tokens is None:
        return pooled
    _, other, _ = encoder(mix_tokens)
    beta = jnp.asarray(beta, jnp.float32)
    if beta.ndim:  # one β per example
        beta = beta[:, None]
    return beta * pooled + (1.0 - beta) * other


class TextConditioned(nn.Module):
    """(x, tokens [B, L]) → body(x, code): G's (z → images) or D's (images → (scores, aux))
    body, conditioned on the caption's code LeakyReLU(Linear(φ(t)))."""

    encoder: TextEncoder
    body: nn.Module  # a generator or discriminator with conditioning="vector"
    code_dim: int = 128
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, tokens, *, train: bool, mix_tokens=None, beta=0.5):
        pooled = interpolated_pooled(self.encoder, tokens, mix_tokens, beta)
        code = nn.Dense(self.code_dim, dtype=self.dtype, name="text_projection")(pooled)
        return self.body(x, nn.leaky_relu(code, negative_slope=0.2), train=train)
