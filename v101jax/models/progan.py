"""ProGAN networks (Karras et al. 2018) that grow from 4×4 by doubling, with fade-in.

Stage s works at 4·2^s pixels. Every layer is equalized (v101jax.nn.style); LeakyReLU 0.2.

Generator: z → pixel norm → a Dense layer to 4×4×C₀ → conv 3×3 (stage 0); each later stage
doubles (nearest) and applies two 3×3 convolutions; pixel norm after every convolution.
`to_rgb[s]` (1×1, linear) gives stage s's image. During stage s's fade-in the output is
(1 − α)·up(to_rgb[s−1](h_{s−1})) + α·to_rgb[s](h_s).

Discriminator, the mirror: `from_rgb[s]` (1×1) at the input's resolution, then per stage two
3×3 convolutions and a 2×2 average pool, down to 4×4, where the minibatch standard deviation,
a 3×3 and a 4×4 convolution (as a Dense layer) and a linear score follow. During the fade-in
of stage s the features entering stage s − 1 are (1 − α)·from_rgb[s−1](pool(x)) +
α·block_s(from_rgb[s](x)).

Parameters of every stage exist from the start (init builds the full network), so the
checkpoint tree has one shape in every phase; a stage's forward pass uses only its own.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.minibatch import minibatch_stddev
from v101jax.nn.style import EqualizedConv, EqualizedDense, pixel_norm


def _lrelu(x):
    return nn.leaky_relu(x, 0.2)


def upsample(x):
    """Nearest-neighbour ×2."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def downsample(x):
    """2×2 average pooling."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def resolution(stage: int) -> int:
    return 4 * 2**stage


class ProGenerator(nn.Module):
    """(z [B, latent_dim], stage, α) → images [B, 4·2^stage, 4·2^stage, channels]."""

    widths: Sequence[int] = (128, 128, 64, 32)  # C_s of each stage (4, 8, 16, 32 px)
    channels: int = 1
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c0 = self.widths[0]
        self.dense = EqualizedDense(4 * 4 * c0, gain=2**0.5 / 4, dtype=self.dtype)
        self.first_conv = EqualizedConv(c0, dtype=self.dtype)
        self.convs = [
            (EqualizedConv(w, dtype=self.dtype), EqualizedConv(w, dtype=self.dtype))
            for w in self.widths[1:]
        ]
        self.to_rgb = [
            EqualizedConv(self.channels, kernel_size=1, gain=1.0, dtype=self.dtype)
            for _ in self.widths
        ]

    def features(self, z, stage: int):
        """Feature maps of stages 0 … stage (a list; the last is stage `stage`'s)."""
        h = self.dense(pixel_norm(z)).reshape(z.shape[0], 4, 4, self.widths[0])
        h = pixel_norm(_lrelu(h))
        h = pixel_norm(_lrelu(self.first_conv(h)))
        maps = [h]
        for conv_a, conv_b in self.convs[:stage]:
            h = upsample(h)
            h = pixel_norm(_lrelu(conv_a(h)))
            h = pixel_norm(_lrelu(conv_b(h)))
            maps.append(h)
        return maps

    def __call__(self, z, stage: int | None = None, alpha=1.0):
        stage = len(self.widths) - 1 if stage is None else stage
        maps = self.features(z, stage)
        if (
            self.is_initializing()
        ):  # build every stage's layers: one tree for all phases
            for s, m in enumerate(self.features(z, len(self.widths) - 1)):
                self.to_rgb[s](m)
        image = self.to_rgb[stage](maps[-1])
        if stage > 0:
            previous = upsample(self.to_rgb[stage - 1](maps[-2]))
            image = previous + alpha * (image - previous)
        return image.astype(jnp.float32)


class ProDiscriminator(nn.Module):
    """(images [B, 4·2^stage, …], stage, α) → scores [B]."""

    widths: Sequence[int] = (128, 128, 64, 32)  # the generator's, stage by stage
    group_size: int = 4  # minibatch standard deviation groups
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.from_rgb = [
            EqualizedConv(w, kernel_size=1, dtype=self.dtype) for w in self.widths
        ]
        # Stage s's block maps C_s → C_{s−1} and halves the resolution.
        self.convs = [
            (
                EqualizedConv(self.widths[s], dtype=self.dtype),
                EqualizedConv(self.widths[s - 1], dtype=self.dtype),
            )
            for s in range(1, len(self.widths))
        ]
        c0 = self.widths[0]
        self.final_conv = EqualizedConv(c0, dtype=self.dtype)
        self.final_dense = EqualizedDense(c0, dtype=self.dtype)
        self.score = EqualizedDense(1, gain=1.0, dtype=self.dtype)

    def block(self, h, s: int):
        conv_a, conv_b = self.convs[s - 1]
        return downsample(_lrelu(conv_b(_lrelu(conv_a(h)))))

    def __call__(self, x, stage: int | None = None, alpha=1.0):
        last = len(self.widths) - 1
        stage = last if stage is None else stage
        if self.is_initializing() and stage != last:
            raise ValueError("initialise the discriminator at its full resolution")
        h = _lrelu(self.from_rgb[stage](x))
        if stage > 0:
            h = self.block(h, stage)
            skipped = _lrelu(self.from_rgb[stage - 1](downsample(x)))
            h = skipped + alpha * (h - skipped)
        for s in range(stage - 1, 0, -1):
            h = self.block(h, s)
        if self.is_initializing():  # the lower stages' from_rgb layers too
            for s in range(last):
                self.from_rgb[s](jnp.zeros(x.shape[:1] + (4, 4) + x.shape[3:], x.dtype))
        h = minibatch_stddev(h, self.group_size)
        h = _lrelu(self.final_conv(h))
        h = _lrelu(self.final_dense(h.reshape(h.shape[0], -1)))
        return self.score(h)[:, 0].astype(jnp.float32)
