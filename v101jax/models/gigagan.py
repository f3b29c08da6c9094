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

Upsampler (§3.5): an asymmetric U-Net from a low-resolution source down to 4 px and back up
through the same synthesis levels, with the same text conditioning, each output level added
to the source's bicubic resize (`TextUpsampler`; algorithm text_upsampler).

Left out of the paper's design, for size: the sample-adaptive kernel bank, self-attention in
G and D, the contrastive term, and D's sharing of features across levels.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from v101jax.models.progan import downsample, upsample
from v101jax.models.stylegan import MappingNetwork, StyleLayer, skip_to_rgb
from v101jax.models.text_gan import interpolated_pooled
from v101jax.nn.attention import CrossAttention2D
from v101jax.nn.minibatch import minibatch_stddev
from v101jax.nn.style import (
    EqualizedConv,
    EqualizedDense,
    LearnedConstant,
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


def _text_style(module, z, tokens, mix_tokens, beta):
    """(w [B, w_dim], token features, mask) of the caption and z, inside `module`'s compact
    call: w = mapping(z, LeakyReLU(P · pooled caption code)). GAN-INT interpolates the
    global code only; the token features are the first caption's."""
    local, _, mask = module.encoder(tokens)
    pooled = interpolated_pooled(module.encoder, tokens, mix_tokens, beta)
    code = _lrelu(nn.Dense(module.code_dim, name="text_projection")(pooled))
    w = MappingNetwork(
        module.w_dim, module.mapping_layers, module.mapping_lr, name="mapping"
    )(jnp.concatenate([z, code], axis=-1))
    return w, local.astype(module.dtype), mask


def _text_style_synthesis(module, x, w, local, mask, skips: dict) -> list:
    """The synthesis levels shared by the generator and the upsampler, run inside `module`'s
    compact call (so their parameters keep the names level{l}_layer{j}, cross_attention{l},
    to_rgb{l}): from x at 4 px, per level ×2 nearest upsampling, the U-Net skip features of
    that size concatenated when `skips` has them (the upsampler's), two modulated style
    layers, cross-attention to the caption's tokens where asked, and a to-RGB output added to
    the upsampled image so far. Returns the image pyramid [4·2^l px for every level]."""
    image, pyramid = None, []
    for level, width in enumerate(module.widths):
        if level > 0:
            x = upsample(x)
        if x.shape[1] in skips:
            x = jnp.concatenate([x, skips[x.shape[1]]], axis=-1)
        for j in range(2):
            x = StyleLayer(
                width,
                style="modulated",
                dtype=module.dtype,
                name=f"level{level}_layer{j}",
            )(x, w)
        if level in module.cross_attention_levels:
            x = CrossAttention2D(
                num_heads=module.num_heads,
                num_groups=min(8, width),
                dtype=module.dtype,
                name=f"cross_attention{level}",
            )(x, local, mask)
        image = skip_to_rgb(module, level, x, w, image)
        pyramid.append(image.astype(jnp.float32))
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
        w, local, mask = _text_style(self, z, tokens, mix_tokens, beta)
        x = LearnedConstant((4, 4, self.widths[0]), name="const")(z.shape[0])
        pyramid = _text_style_synthesis(
            self, x.astype(self.dtype), w, local, mask, skips={}
        )
        return pyramid[-self.pyramid_levels :]


class TextUpsampler(nn.Module):
    """GigaGAN's text-conditioned upsampler, sized for small images: (z [B, latent],
    tokens [B, L], source [B, s, s, C]) → the image pyramid up to `factor`·s px.

    An asymmetric U-Net (§3.5 of the paper): from-RGB at the source's size, then 3×3
    convolutions with 2× average pooling down to 4 px, keeping each size's features; the
    generator's synthesis levels from there up to the output size (the skips concatenated
    where their size recurs, the same style from z and the caption, cross-attention to its
    tokens). Each returned level adds the bicubic resize of the source to that size, so the
    network learns what bicubic upsampling misses."""

    encoder: TextEncoder
    widths: Sequence[int] = (64, 64, 32, 16)  # channels of the levels 4, 8, 16, 32 px
    factor: int = 2  # output size / source size
    channels: int = 1
    w_dim: int = 128
    mapping_layers: int = 4
    mapping_lr: float = 0.01
    code_dim: int = 128
    cross_attention_levels: Sequence[int] = (1, 2)
    num_heads: int = 2
    pyramid_levels: int = 3
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self, z, tokens, source, *, train: bool, mix_tokens=None, beta: float = 0.5
    ):
        del train
        size = source.shape[1]
        if size * self.factor != 4 * 2 ** (len(self.widths) - 1):
            raise ValueError(
                f"{size} px sources × {self.factor} are not the "
                f"{4 * 2 ** (len(self.widths) - 1)} px that widths={tuple(self.widths)} make"
            )
        w, local, mask = _text_style(self, z, tokens, mix_tokens, beta)
        level = (size // 4).bit_length() - 1  # the source's level: 4 px → 0, 8 → 1, …
        h = _lrelu(
            EqualizedConv(self.widths[level], kernel_size=1, name="from_rgb")(
                source.astype(self.dtype)
            )
        )
        skips = {}
        for lv in range(level, 0, -1):
            h = _lrelu(EqualizedConv(self.widths[lv], name=f"down{lv}_conv")(h))
            skips[h.shape[1]] = h
            h = downsample(h)
        h = _lrelu(EqualizedConv(self.widths[0], name="down0_conv")(h))
        pyramid = _text_style_synthesis(self, h, w, local, mask, skips=skips)
        n, _, _, c = source.shape
        return [
            image
            + jax.image.resize(
                source, (n, image.shape[1], image.shape[2], c), method="cubic"
            )
            for image in pyramid[-self.pyramid_levels :]
        ]


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
