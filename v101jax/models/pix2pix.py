"""Pix2Pix networks (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator.

Paper (and junyanz/pytorch-CycleGAN-and-pix2pix): `unet_256` has eight 4×4 stride-2 levels
(256 → 1) with batch norm, dropout 0.5 in the three innermost decoder blocks and skip
connections between mirrored levels; the 70×70 PatchGAN is C64-C128-C256 (stride 2), C512
(stride 1) and a 1-channel stride-1 score map, 4×4 kernels, LeakyReLU 0.2; every kernel is
initialised N(0, 0.02).

Deviations for 28×28 (documented, measured where it matters):
  * The U-Net has two stride-2 levels (28 → 14 → 7) and a bottleneck that maps the whole 7×7
    map to one vector and back (a Dense layer: the same as the paper's innermost level, a
    convolution down to 1×1 and a transposed one back up, so every output pixel still sees the
    whole input). Sizes must be multiples of 4 (28, 16, 32, …).
  * Instance norm replaces batch norm: the paper trains at batch size 1, where batch norm is
    instance norm, and it keeps the normalisation in training mode at test time; with instance
    norm an output never depends on the other images of its batch and training and sampling
    normalise the same way.
  * Dropout 0.5 (`dropout`) acts on the two innermost decoder outputs (the bottleneck and the
    7 → 14 block); it is active in training only (`train=True`), see the algorithm module.
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

    e1 = LReLU(conv↓(x))             [H/2, C]        (no norm on the first layer, as in the paper)
    e2 = LReLU(IN(conv↓(e1)))        [H/4, 2C]
    b  = ReLU(Dense(flatten(e2)))    [bottleneck]
    u  = drop(IN(Dense(b)))          [H/4, 2C]
    d2 = drop(IN(convT↑(ReLU([u, e2]))))   [H/2, C]
    y  = tanh(convT↑(ReLU([d2, e1])))      [H, out_channels]
    """

    out_channels: int = 1
    channels: int = 32
    bottleneck: int = 128
    dropout: float = 0.5
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        b, h, w, _ = x.shape
        if h % 4 or w % 4:
            raise ValueError(f"the U-Net needs sizes divisible by 4, got {h}×{w}")
        c = self.channels
        drop = nn.Dropout(self.dropout, deterministic=not train)
        conv = lambda f: nn.Conv(
            f, (4, 4), (2, 2), "SAME", kernel_init=init, dtype=self.dtype
        )
        e1 = _leaky_relu(conv(c)(x.astype(self.dtype)))
        e2 = _leaky_relu(_instance_norm(self.dtype)(conv(2 * c)(e1)))
        flat = e2.reshape(b, -1)
        z = nn.relu(nn.Dense(self.bottleneck, kernel_init=init, dtype=self.dtype)(flat))
        u = nn.Dense(flat.shape[-1], kernel_init=init, dtype=self.dtype)(z)
        u = drop(_instance_norm(self.dtype)(u.reshape(e2.shape)))
        d2 = ConvTranspose4x4s2(c, kernel_init=init, dtype=self.dtype)(
            nn.relu(jnp.concatenate([u, e2], axis=-1))
        )
        d2 = drop(_instance_norm(self.dtype)(d2))
        y = ConvTranspose4x4s2(self.out_channels, kernel_init=init, dtype=self.dtype)(
            nn.relu(jnp.concatenate([d2, e1], axis=-1))
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
