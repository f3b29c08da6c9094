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


def _text_code(module, tokens, mix_tokens, beta):
    _, pooled, _ = module.encoder(tokens)
    if mix_tokens is not None:
        _, other, _ = module.encoder(mix_tokens)
        beta = jnp.asarray(beta, jnp.float32)
        if beta.ndim:  # one β per example
            beta = beta[:, None]
        pooled = beta * pooled + (1.0 - beta) * other
    code = nn.Dense(module.code_dim, dtype=module.dtype, name="text_projection")(pooled)
    return nn.leaky_relu(code, negative_slope=0.2)


class TextConditionalGenerator(nn.Module):
    """(z [B, latent], tokens [B, L]) → G's output, conditioned on the caption's code."""

    encoder: TextEncoder
    body: nn.Module  # a generator with conditioning="vector"
    code_dim: int = 128
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z, tokens, *, train: bool, mix_tokens=None, beta: float = 0.5):
        return self.body(z, _text_code(self, tokens, mix_tokens, beta), train=train)


class TextConditionalDiscriminator(nn.Module):
    """(x, tokens [B, L]) → (scores [B], aux) of the body, conditioned on the caption."""

    encoder: TextEncoder
    body: nn.Module  # a discriminator with conditioning="vector"
    code_dim: int = 128
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, tokens, *, train: bool, mix_tokens=None, beta: float = 0.5):
        return self.body(x, _text_code(self, tokens, mix_tokens, beta), train=train)
