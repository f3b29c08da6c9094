"""GigaGAN-style networks (Kang et al. 2023), sized for small images.

Generator: a StyleGAN2 synthesis network (modulated convolutions, noise, skip to-RGB outputs;
v101jax.models.stylegan) whose style w = M(z, t_global) comes from z and the caption's pooled
code, with cross-attention from the feature map to the caption's token features t_local
after the style layers of every level in `cross_attention_levels` (GigaGAN §3.2: text
conditioning through both the style and attention). It returns the image pyramid of its
to-RGB outputs, coarse to fine: the multi-scale discriminator judges every level.

Discriminator: one convolutional trunk per pyramid level (from-RGB, 3×3 convolutions with 2×
average pooling down to 4×4, minibatch std-dev, a dense layer), each ending in an
unconditional score plus a projection term ⟨P c, φ(x)⟩ with the caption's code c — the
text-matching part that the matching-aware loss trains. Scores [B, levels].

Left out of the paper's design, for size: the sample-adaptive kernel bank, self-attention in
G and D, the CLIP text tower and contrastive term, and D's sharing of features across
levels.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from v101jax.models.progan import downsample, upsample
from v101jax.models.stylegan import MappingNetwork, StyleLayer
from v101jax.models.text_gan import interpolated_pooled
from v101jax.nn.attention import CrossAttention2D
from v101jax.nn.minibatch import minibatch_stddev
from v101jax.nn.style import (
    EqualizedConv,
    EqualizedDense,
    LearnedConstant,
    ModulatedConv,
)
from v101jax.nn.text import TextEncoder


def _lrelu(x):
    return nn.leaky_relu(x, 0.2)


def image_pyramid(images, levels: int) -> list:
    """[images at 1/2^(levels−1) of the size, …, images at full size] by 2× average pooling
    (how real images meet the multi-scale discriminator)."""
    pyramid = [images]
    for _ in range(levels - 1):
        pyramid.insert(0, downsample(pyramid[0]))
    return pyramid


class TextStyleGenerator(nn.Module):
    """(z [B, latent], tokens [B, L]) → the image pyramid [4·2^l px for l in levels]."""

    encoder: TextEncoder
    widths: Sequence[int] = (64, 64, 32, 16)  # channels of the levels 4, 8, 16, 32 px
    channels: int = 1
    w_dim: int = 128
    mapping_layers: int = 4
    mapping_lr: float = 0.01
    code_dim: int = 128
    cross_attention_levels: Sequence[int] = (1, 2)  # 8 and 16 px
    num_heads: int = 2
    pyramid_levels: int = 3  # the finest levels returned (what D judges)
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z, tokens, *, train: bool, mix_tokens=None, beta: float = 0.5):
        del train
        local, _, mask = self.encoder(tokens)
        # GAN-INT interpolates the global code only; the tokens are the first caption's.
        pooled = interpolated_pooled(self.encoder, tokens, mix_tokens, beta)
        code = _lrelu(nn.Dense(self.code_dim, name="text_projection")(pooled))
        w = MappingNetwork(
            self.w_dim, self.mapping_layers, self.mapping_lr, name="mapping"
        )(jnp.concatenate([z, code], axis=-1))
        x = LearnedConstant((4, 4, self.widths[0]), name="const")(z.shape[0])
        x = x.astype(self.dtype)
        image, pyramid = None, []
        for level, width in enumerate(self.widths):
            if level > 0:
                x = upsample(x)
            for j in range(2):
                x = StyleLayer(
                    width,
                    style="modulated",
                    dtype=self.dtype,
                    name=f"level{level}_layer{j}",
                )(x, w)
            if level in self.cross_attention_levels:
                x = CrossAttention2D(
                    num_heads=self.num_heads,
                    num_groups=min(8, width),
                    dtype=self.dtype,
                    name=f"cross_attention{level}",
                )(x, local.astype(self.dtype), mask)
            rgb = ModulatedConv(
                self.channels,
                kernel_size=1,
                demodulate=False,
                dtype=self.dtype,
                name=f"to_rgb{level}",
            )(x, w)
            rgb = rgb + self.param(
                f"to_rgb{level}_bias", nn.initializers.zeros, (self.channels,)
            )
            image = rgb if image is None else upsample(image) + rgb
            pyramid.append(image.astype(jnp.float32))
        return pyramid[-self.pyramid_levels :]


class MultiScaleTextDiscriminator(nn.Module):
    """(pyramid: list of images coarse to fine, tokens [B, L]) → (scores [B, levels], aux)."""

    encoder: TextEncoder
    widths: Sequence[int] = (64, 64, 32, 16)  # the generator's, level by level
    group_size: int = 4  # minibatch std-dev groups; 0 = off
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self, pyramid, tokens, *, train: bool, mix_tokens=None, beta: float = 0.5
    ):
        del train
        pooled = interpolated_pooled(self.encoder, tokens, mix_tokens, beta)
        scores, features = [], []
        for i, x in enumerate(pyramid):
            level = (x.shape[1] // 4).bit_length() - 1  # 4 px → 0, 8 → 1, …
            h = _lrelu(
                EqualizedConv(
                    self.widths[level], kernel_size=1, name=f"scale{i}_from_rgb"
                )(x.astype(self.dtype))
            )
            for s in range(level, 0, -1):
                h = _lrelu(EqualizedConv(self.widths[s], name=f"scale{i}_conv{s}a")(h))
                h = _lrelu(
                    EqualizedConv(self.widths[s - 1], name=f"scale{i}_conv{s}b")(h)
                )
                h = downsample(h)
            if self.group_size:
                h = minibatch_stddev(h, self.group_size)
            h = _lrelu(EqualizedConv(self.widths[0], name=f"scale{i}_final_conv")(h))
            h = _lrelu(
                EqualizedDense(self.widths[0], name=f"scale{i}_final_dense")(
                    h.reshape(h.shape[0], -1)
                )
            ).astype(jnp.float32)
            score = EqualizedDense(1, gain=1.0, name=f"scale{i}_score")(h)[:, 0]
            text = nn.Dense(self.widths[0], name=f"scale{i}_text_projection")(pooled)
            scores.append(score + jnp.sum(text * h, axis=-1) / jnp.sqrt(h.shape[-1]))
            features.append(h)
        return jnp.stack(scores, axis=-1), {"features": jnp.concatenate(features, -1)}
