"""Pix2Pix networks (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator.

Paper (and junyanz/pytorch-CycleGAN-and-pix2pix): `unet_256` has eight 4×4 stride-2 levels
(256 → 1) with batch norm, dropout 0.5 in the three innermost decoder blocks and skip
connections between mirrored levels; the 70×70 PatchGAN is C64-C128-C256 (stride 2), C512
(stride 1) and a 1-channel stride-1 score map, 4×4 kernels, LeakyReLU 0.2; every kernel is
initialised N(0, 0.02).

Deviations for 28×28 (documented, measured where it matters):
  * The U-Net has two stride-2 levels (28 → 14 → 7; `levels`, 8 for the paper's 256 → 1) and
    a bottleneck that maps the whole bottom map to one vector and back (a Dense layer: the
    same as the paper's innermost level, a convolution down to 1×1 and a transposed one back
    up, so every output pixel still sees the whole input). Sizes must be multiples of
    2^levels (28, 16, 32, … for 2). At 8 levels the 1×1 bottom gets this Dense pair and a
    skip the paper's innermost block has not: 59.1 M parameters against unet_256's 54.4 M
    (tests/algorithms/test_translation_datasets.py counts the difference).
  * Instance norm replaces batch norm: the paper trains at batch size 1, where batch norm is
    instance norm, and it keeps the normalisation in training mode at test time; with instance
    norm an output never depends on the other images of its batch and training and sampling
    normalise the same way.
  * Dropout 0.5 (`dropout`) acts on the innermost decoder outputs (at two levels: the
    bottleneck and the 7 → 14 block; at more, also the next one, as the paper's three); it is
    active in training only (`train=True`), see the algorithm module.
  * The PatchGAN has `num_strided` stride-2 layers; its convolutional receptive field is
    `patch_receptive_field(num_strided)`: 16×16 for the default 1 (14×14 logits on a 28×28
    image), 34 for 2 (7×7 logits, wider than the image: an image GAN), 70 for the paper's 3.
    Its instance norm (like the paper's batch norm at batch size 1) normalises with
    statistics of the whole feature map, so a logit also depends on the rest of the image
    through one mean and variance per channel; `normalize=False` removes that (the tests
    measure the 16×16 field on it).
"""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.conv_transpose import ConvTranspose4x4s2

init = nn.initializers.normal(0.02)


def _leaky_relu(x):
    return nn.leaky_relu(x, negative_slope=0.2)


def _instance_norm(dtype):
    return nn.InstanceNorm(dtype=dtype)


def patch_receptive_field(num_strided: int) -> int:
    """Receptive field (pixels per side) of one PatchGAN score: 4×4 kernels, `num_strided`
    stride-2 layers, then two stride-1 layers (paper: num_strided = 3 → 70)."""
    strides = [2] * num_strided + [1, 1]
    field, jump = 1, 1
    for s in strides:
        field += 3 * jump
        jump *= s
    return field


class UNetGenerator(nn.Module):
    """source images [B, H, W, C_in] → images [B, H, W, out_channels] in [-1, 1].

    With L = `levels` stride-2 levels of widths w_i = C · min(2^i, 8) (the paper's 64, 128,
    256, 512, 512, …):
    e_1 = LReLU(conv↓(x))                     [H/2, w_0]   (no norm on the first, as the paper)
    e_i = LReLU(IN(conv↓(e_{i-1})))           [H/2^i, w_{i-1}]
    b   = ReLU(Dense(flatten(e_L)))           [bottleneck]
    u   = drop(IN(Dense(b)))                  [H/2^L, w_{L-1}]
    d_i = IN(convT↑(ReLU([d_{i+1}, e_i])))    [H/2^{i-1}, w_{i-2}], d_{L+1} = u, down to i = 2
    y   = tanh(convT↑(ReLU([d_2, e_1])))      [H, out_channels]
    Dropout acts on u and the two innermost d_i (the paper's three innermost decoder blocks).
    The default L = 2 suits 28×28; the paper's unet_256 is L = 8 (1×1 at the bottom, where
    the Dense pair is a 1×1 convolution down and back up).
    """

    out_channels: int = 1
    channels: int = 32
    bottleneck: int = 128
    dropout: float = 0.5
    levels: int = 2
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        b, h, w, _ = x.shape
        factor = 2**self.levels
        if h % factor or w % factor:
            raise ValueError(
                f"a U-Net of {self.levels} levels needs sizes divisible by {factor}, "
                f"got {h}×{w}"
            )
        widths = [self.channels * min(2**i, 8) for i in range(self.levels)]
        drop = nn.Dropout(self.dropout, deterministic=not train)
        skips = []
        e = x.astype(self.dtype)
        for i, width in enumerate(widths):
            e = nn.Conv(
                width, (4, 4), (2, 2), "SAME", kernel_init=init, dtype=self.dtype
            )(e)
            if i:
                e = _instance_norm(self.dtype)(e)
            e = _leaky_relu(e)
            skips.append(e)
        flat = e.reshape(b, -1)
        z = nn.relu(nn.Dense(self.bottleneck, kernel_init=init, dtype=self.dtype)(flat))
        u = nn.Dense(flat.shape[-1], kernel_init=init, dtype=self.dtype)(z)
        d = drop(_instance_norm(self.dtype)(u.reshape(e.shape)))
        for i in range(
            self.levels - 1, 0, -1
        ):  # back up to H/2, with the skip of level i
            d = ConvTranspose4x4s2(widths[i - 1], kernel_init=init, dtype=self.dtype)(
                nn.relu(jnp.concatenate([d, skips[i]], axis=-1))
            )
            d = _instance_norm(self.dtype)(d)
            if i >= self.levels - 2:  # the two innermost decoder blocks
                d = drop(d)
        y = ConvTranspose4x4s2(self.out_channels, kernel_init=init, dtype=self.dtype)(
            nn.relu(jnp.concatenate([d, skips[0]], axis=-1))
        )
        return jnp.tanh(y.astype(jnp.float32))


class PatchDiscriminator(nn.Module):
    """(source [B, H, W, C_s] or None, image [B, H, W, C]) → patch logits [B, H', W'].

    The pair is concatenated on channels (the conditional discriminator of the paper); with
    source None it scores the image alone (CycleGAN's discriminators). Layers:
    `num_strided` 4×4 stride-2 convolutions from `channels`, doubling (instance norm after the
    first), one 4×4 stride-1 convolution of twice the last width with instance norm, and a 4×4
    stride-1 convolution to one logit per patch; SAME padding, so H' = H / 2^num_strided.
    """

    channels: int = 32
    num_strided: int = 1
    normalize: bool = True  # instance norm after every layer but the first and the last
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, source, image, *, train: bool):
        del train  # no dropout or batch statistics: an example's score is its own
        h = image if source is None else jnp.concatenate([source, image], axis=-1)
        h = h.astype(self.dtype)
        width = self.channels
        for i in range(self.num_strided):
            h = nn.Conv(
                width, (4, 4), (2, 2), "SAME", kernel_init=init, dtype=self.dtype
            )(h)
            if i and self.normalize:
                h = _instance_norm(self.dtype)(h)
            h = _leaky_relu(h)
            width *= 2
        h = nn.Conv(width, (4, 4), (1, 1), "SAME", kernel_init=init, dtype=self.dtype)(
            h
        )
        if self.normalize:
            h = _instance_norm(self.dtype)(h)
        h = _leaky_relu(h)
        h = nn.Conv(1, (4, 4), (1, 1), "SAME", kernel_init=init, dtype=self.dtype)(h)
        return h[..., 0].astype(jnp.float32)
